"""Lambda SnapStart: what environments restored from one snapshot must not share.

With SnapStart, Lambda initialises a published version once (imports the handler module), runs the
before-snapshot hooks, and snapshots the environment's memory; every later cold start of that version is
a restore of the same snapshot, followed by the after-restore hooks. Whatever the process drew or built
before the snapshot is therefore identical in every restored environment. The hooks here are plain
functions (tests call them directly, in forked "restored" copies); each handler module registers them
through :func:`forget_on_restore`, and they reach Lambda's runtime through ``snapshot_restore_py``, which
Lambda's Python runtime provides (it is not bundled: requirements/lambda.in). Where it is absent
(locally, in tests, a runtime without SnapStart) nothing is registered and nothing changes. Stdlib only,
like the publisher that imports it.

What each hook does and why: docs/adr/0042-uniqueness-after-a-snapstart-restore.md.
"""

from __future__ import annotations

import gc
import importlib
import random
import sys
from collections.abc import Callable

Reset = Callable[[], None]

# Lambda's module of runtime hooks (absent outside Lambda's Python runtime).
RUNTIME_HOOKS_MODULE = "snapshot_restore_py"
# Imported before the snapshot, so a restore starts with them loaded: code only, no per-environment state
# (no session, client, credential or connection exists until first use).
WARM_IMPORTS = ("boto3", "botocore.config")

_resets: list[Reset] = []
_registered = False


def forget_on_restore(reset: Reset) -> Reset:
    """Have ``reset`` run before the snapshot and after every restore; returns it (usable as a decorator).

    A handler module registers what it keeps per execution environment (SDK clients, sessions, the
    secret and the keys derived from it, cached results): dropped, each is rebuilt on first use after
    the restore, from that environment's own credentials and a fresh read of the secret. The first
    call also registers :func:`before_snapshot` and :func:`after_restore` with Lambda's runtime."""
    if reset not in _resets:
        _resets.append(reset)
    register_with_runtime()
    return reset


def register_with_runtime() -> bool:
    """Register the hooks with ``snapshot_restore_py`` once per process; False where it is absent.

    Lambda runs after-restore hooks in registration order and before-snapshot hooks in reverse: with
    one registration of each, the order of the resets is this module's own (:data:`_resets`)."""
    global _registered  # noqa: PLW0603 - once per process, like the runtime's own registry
    if _registered:
        return True
    try:
        hooks = importlib.import_module(RUNTIME_HOOKS_MODULE)
    except ImportError:
        return False
    hooks.register_before_snapshot(before_snapshot)
    hooks.register_after_restore(after_restore)
    _registered = True
    return True


def before_snapshot() -> None:
    """Leave out of the snapshot what must not be in it; leave in what makes a restore fast.

    - Every registered reset runs: nothing built per environment is written into the snapshot (above
      all the application secret, which a rotation may replace while the snapshot is still in use).
    - The SDK's modules are imported (code, the bulk of a cold start's time, is safe to share).
    - A full collection, then ``gc.freeze()``: the import-time heap goes into the snapshot compact and
      frozen, so no restored environment's collector walks it again (strongroom.runtime.lifecycle).
    """
    _run_resets()
    for name in WARM_IMPORTS:
        importlib.import_module(name)
    gc.unfreeze()  # what lifecycle.long_lived froze, so dropped state's cycles can be collected
    gc.collect()
    gc.freeze()


def after_restore() -> None:
    """Make this restored environment unique: what was drawn or built before the snapshot is renewed.

    - ``random``'s global generator is reseeded from ``os.urandom`` (its state is in the snapshot, so
      every restored copy would otherwise draw the same sequence, e.g. the same retry jitter).
    - The fallback pseudonym key (strongroom.runtime.settings), drawn at import, is drawn again.
    - boto3's default session is dropped (it caches resolved credentials), and every registered reset
      runs again: clients, sessions, the secret and derived keys are rebuilt on first use.
    - The frozen heap stays frozen: it is the import-time heap, code and constants, the same in every
      copy by design; unfreezing would only make the first collection after the restore walk it again.
    """
    random.seed()  # no argument: seeded from os.urandom, which the kernel makes unique per environment
    # Only modules already loaded hold snapshot state; one imported later draws its own at import.
    settings = sys.modules.get("strongroom.runtime.settings")
    if settings is not None:
        settings.renew_random_key()
    if "boto3" in sys.modules:
        import boto3  # noqa: PLC0415 - loaded already, never imported for this

        boto3.DEFAULT_SESSION = None
    _run_resets()


def _run_resets() -> None:
    for reset in _resets:
        reset()
