"""The tap's uses of singer-sdk internals (tap_hubspot_raw/sdk_private.py) still do what they rely on.

When a singer-sdk release changes them, these fail first, with the name of what changed.
"""

from __future__ import annotations

import inspect
import io
import json
from contextlib import redirect_stdout

from singer_sdk.streams import Stream

from tap_hubspot_raw.sdk_private import advance_bookmark
from tap_hubspot_raw.tap import TapHubspotRaw
from tests.tap.conftest import tap_config

OLD = "2026-01-01T00:00:00.000Z"
NEW = "2026-01-02T00:00:00.000Z"


def test_the_private_method_advance_bookmark_calls_still_exists_with_the_same_signature():
    method = getattr(Stream, "_increment_stream_state", None)
    assert method is not None, "singer-sdk removed Stream._increment_stream_state"
    parameters = inspect.signature(method).parameters
    assert list(parameters)[:2] == ["self", "latest_record"]
    assert parameters["context"].kind is inspect.Parameter.KEYWORD_ONLY


def test_advance_bookmark_moves_an_incremental_bookmark_and_marks_the_state_for_writing(portal_sim):
    state = {"bookmarks": {"deals": {"replication_key": "updatedAt", "replication_key_value": OLD}}}
    tap = TapHubspotRaw(config=tap_config(portal_sim), state=state, parse_env_config=False)
    stream = tap.streams["deals"]

    advance_bookmark(stream, NEW)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        stream.finalize_state_progress_markers()

    written = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert written[-1]["value"]["bookmarks"]["deals"]["replication_key_value"] == NEW


def test_advance_bookmark_on_a_full_sync_is_capped_by_the_signpost(portal_sim):
    tap = TapHubspotRaw(config=tap_config(portal_sim), parse_env_config=False)
    stream = tap.streams["deals"]
    stream.state_manager.write_replication_key_signpost(OLD, context=None)  # the SDK does this in sync()

    advance_bookmark(stream, NEW)
    stream.finalize_state_progress_markers()

    assert stream.stream_state["replication_key_value"] == OLD
