"""What testSecret accepts as the next value of the application secret (pure: no Secrets Manager)."""

from __future__ import annotations

from strongroom.runtime.keys import ApplicationSecret, CursorKey, parse_application_secret
from strongroom.runtime.rotation import STEPS, successor_problems

PSEUDONYM = b"p" * 40
FIRST, SECOND = CursorKey("k1", b"a" * 43), CursorKey("k2", b"b" * 43)


def test_the_steps_are_secrets_managers_four_in_order() -> None:
    assert STEPS == ("createSecret", "setSecret", "testSecret", "finishSecret")


def test_a_rotated_value_is_a_safe_successor() -> None:
    current = ApplicationSecret((FIRST,), PSEUDONYM)
    assert successor_problems(current, current.rotated(SECOND)) == []


def test_the_first_rotation_of_a_plain_string_is_a_safe_successor() -> None:
    plain = parse_application_secret("s" * 64)
    assert successor_problems(plain, plain.rotated(SECOND)) == []


def test_every_problem_is_named_at_once() -> None:
    current = ApplicationSecret((SECOND, FIRST), PSEUDONYM)
    replacement = ApplicationSecret((FIRST,), b"q" * 40)  # an old key, alone, and a new pseudonym secret
    problems = successor_problems(current, replacement)
    assert problems[:3] == [
        "its signing key 'k1' is not new",
        "it must keep today's signing key 'k2' as its only other key",
        "it changes the pseudonym secret, so log pseudonyms would stop correlating",
    ]
    assert "a cursor does not survive the rotation" in problems[3]


def test_a_new_id_on_old_key_material_is_not_a_rotation() -> None:
    current = ApplicationSecret((FIRST,), PSEUDONYM)
    assert successor_problems(current, current.rotated(CursorKey("k9", FIRST.secret))) == [
        "its signing key 'k9' reuses a live key's material"
    ]
