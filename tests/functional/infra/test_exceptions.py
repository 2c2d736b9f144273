"""The registry itself (policies/exceptions.json): it loads, every entry is due for review within 12
months and cites an ADR that exists. Whether each entry answers a finding is tested per tool, in
test_compliance.py (cdk-nag), test_checkov.py and test_cfn_lint.py."""

from __future__ import annotations

from datetime import date

from strongroom.infra import exceptions

from .conftest import REPO


def test_every_entry_is_due_for_review_within_12_months() -> None:
    entries = exceptions.load()
    assert entries
    assert exceptions.review_problems(entries, date.today()) == []


def test_every_entry_cites_an_adr_that_exists() -> None:
    missing = [(entry.id, entry.adr) for entry in exceptions.load() if not (REPO / entry.adr).is_file()]
    assert missing == []
