"""Fixtures for the generation tests (helpers live in tiny_peer.py, importable by name)."""

from __future__ import annotations

import pytest
from tiny_peer import TinyPeer


@pytest.fixture(scope="session")
def peer() -> TinyPeer:
    return TinyPeer()
