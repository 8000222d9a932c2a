"""The target's uses of singer-sdk internals (target_supabase_hybrid/sdk_private.py) still do what they
rely on.

When a singer-sdk release changes them, these fail first, with the name of what changed. The in-memory target
below runs the SDK's own message loop (no database); the last tests go through the target's command line.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import signal
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import singer_sdk
from singer_sdk import typing as th
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.io_base import SingerReader
from singer_sdk.sinks import BatchSink, Sink
from singer_sdk.target_base import Target

from target_supabase_hybrid.sdk_private import HookedBatchSink, HookedSingerReader, HookedTarget
from tests.target.cli import run_target
from tests.target.singer import hubspot, query, record, schema, state

PRIVATE_METHODS = [
    (Target, "_process_record_message", ["self", "message_dict"]),
    (Target, "_process_state_message", ["self", "message_dict"]),
    (Target, "_process_activate_version_message", ["self", "message_dict"]),
    (Target, "_write_state_message", ["self", "state"]),
    (Target, "_handle_max_record_age", ["self"]),
    (BatchSink, "_get_context", ["self", "record"]),
    (Sink, "_singer_validate_message", ["self", "record"]),
    (SingerReader, "_process_unknown_message", ["self", "message_dict"]),
]

# The public names sdk_private adds to each SDK class: an SDK release that defines one of them would have its
# own method silently replaced.
ADDED_NAMES = [
    (Target, HookedTarget),
    (BatchSink, HookedBatchSink),
    (SingerReader, HookedSingerReader),
]


@pytest.mark.parametrize(
    ("owner", "name", "parameters"), PRIVATE_METHODS, ids=[f"{o.__name__}.{n}" for o, n, _ in PRIVATE_METHODS]
)
def test_each_private_method_relied_on_still_exists_with_the_same_signature(
    owner: type, name: str, parameters: list[str]
) -> None:
    method = getattr(owner, name, None)
    assert callable(method), f"singer-sdk removed {owner.__name__}.{name}"
    found = list(inspect.signature(method).parameters)
    assert found == parameters, f"singer-sdk changed {owner.__name__}.{name}{tuple(parameters)} to {found}"


def test_the_record_age_relied_on_is_still_a_property_in_minutes() -> None:
    age = inspect.getattr_static(Target, "_max_record_age_in_minutes", None)
    assert isinstance(age, property), "singer-sdk removed the property Target._max_record_age_in_minutes"
    assert Target._MAX_RECORD_AGE_IN_MINUTES == 5.0, "singer-sdk changed the record age limit"


@pytest.mark.parametrize(("sdk_class", "hooked"), ADDED_NAMES, ids=[c.__name__ for c, _ in ADDED_NAMES])
def test_no_name_sdk_private_adds_is_defined_by_the_sdk(sdk_class: type, hooked: type) -> None:
    added = {name for name in vars(hooked) if not name.startswith("_")}
    assert added, f"{hooked.__name__} adds nothing any more: remove it from this test"
    taken = sorted(name for name in added if hasattr(sdk_class, name))
    assert not taken, f"singer-sdk's {sdk_class.__name__} now defines {taken} (sdk_private overrides them)"


def test_the_sdk_never_reads_the_current_message_the_fast_reader_does_not_keep() -> None:
    root = Path(singer_sdk.__file__).parent
    reads = [
        f"{path.relative_to(root)}: {line.strip()}"
        for path in root.rglob("*.py")
        for line in path.read_text().splitlines()
        if re.search(r"_current_message(?!\s*(:[^=]|=[^=]))", line)  # anything but a (typed) assignment
    ]
    assert not reads, f"singer-sdk now reads SingerReader._current_message: {reads}"


class ListSink(HookedBatchSink):
    """Keeps each drained batch's records, and the order of the SDK's batch calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.calls: list[str] = []
        self.batches: list[list[dict]] = []
        super().__init__(*args, **kwargs)

    def start_batch(self, context: dict) -> None:
        self.calls.append("start_batch")

    def start_drain(self) -> dict:
        self.calls.append("start_drain")
        return super().start_drain()

    def process_batch(self, context: dict) -> None:
        self.calls.append("process_batch")
        self.batches.append(list(context.get("records", [])))

    def mark_drained(self) -> None:
        super().mark_drained()
        self.calls.append("mark_drained")


class ListTarget(HookedTarget):
    """Takes the records of `own` on its own path; records what reaches each public hook."""

    name = "target-sdk-private-check"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = ListSink

    def __init__(self) -> None:
        self.taken: list[tuple[str, dict]] = []
        self.events: list[str] = []
        self.states: list[Any] = []
        self.versions: list[tuple[str, Any]] = []
        self.activations: list[dict] = []
        self.out = io.StringIO()
        self.schema_sinks: dict[str, Sink] = {}
        super().__init__(config={})

    def take_record(self, stream_name: str, record: dict) -> bool:
        if stream_name != "own":
            return False
        self.taken.append((stream_name, record))
        return True

    def state_received(self, state: Any) -> None:
        self.events.append(f"state_received {state}")
        self.states.append(state)

    def record_version(self, stream_name: str, version: Any) -> None:
        self.versions.append((stream_name, version))

    def process_activate_version_message(self, message_dict: dict) -> None:
        self.activations.append(message_dict)

    def before_state_written(self) -> None:
        self.events.append(f"before_state_written, {len(self.out.getvalue())} chars written")

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: Any = None,
    ) -> Sink:
        sink = super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)
        if schema is not None:
            self.schema_sinks[stream_name] = sink
        return sink

    def feed(self, *messages: dict) -> None:
        """The SDK's own loop over `messages` (`listen`), then the end of input."""
        with redirect_stdout(self.out):
            self.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))

    def sink(self, stream_name: str) -> ListSink:
        sink = self.get_sink(stream_name)
        assert isinstance(sink, ListSink)
        return sink


@pytest.fixture(autouse=True)
def signal_handlers_restored() -> Iterator[None]:
    """Creating a target installs the SDK's SIGINT/SIGTERM handlers in this process: put pytest's back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_records_reach_take_record_and_what_it_declines_takes_the_sdk_path() -> None:
    target = ListTarget()

    target.feed(
        schema("own"),
        schema("sdk"),
        record("own", {"id": "1"}),
        record("sdk", {"id": "2"}),
        record("own", {"id": "3"}),
    )

    assert target.taken == [("own", {"id": "1"}), ("own", {"id": "3"})]
    assert target.sink("sdk").batches == [[{"id": "2"}]]
    assert target.sink("own").batches == []  # the SDK path never saw its records


def test_state_received_follows_each_state_and_before_state_written_precedes_its_output() -> None:
    target = ListTarget()

    target.feed(schema("sdk"), record("sdk", {"id": "1"}), state({"n": 1}), state({"n": 2}))

    assert target.events == [
        "state_received {'n': 1}",
        "state_received {'n': 2}",
        "before_state_written, 0 chars written",
    ]
    assert target.out.getvalue() == '{"n": 2}\n'


def test_state_received_is_given_each_states_value() -> None:
    target = ListTarget()

    target.feed(schema("sdk"), state({"n": 1}), state({"n": 2}))

    assert target.states == [{"n": 1}, {"n": 2}]


def test_record_version_precedes_each_record_on_both_paths_and_activate_version_reaches_its_hook() -> None:
    target = ListTarget()
    activation = {"type": "ACTIVATE_VERSION", "stream": "sdk", "version": 7}

    target.feed(
        schema("own"),
        schema("sdk"),
        {**record("own", {"id": "1"}), "version": 7},
        {**record("sdk", {"id": "2"}), "version": 7},
        record("sdk", {"id": "3"}),
        activation,
    )

    assert target.versions == [("own", 7), ("sdk", 7), ("sdk", None)]
    assert target.activations == [activation]


def test_the_sink_of_a_stream_is_the_one_get_sink_returned_for_its_last_schema() -> None:
    target = ListTarget()
    changed = schema("a", properties={"id": {"type": "string"}, "more": {"type": "string"}})

    target.feed(schema("a"), schema("b"), record("a", {"id": "1"}), changed, record("a", {"id": "2"}))

    for stream_name in ("a", "b"):
        assert target.get_sink(stream_name) is target.schema_sinks[stream_name], stream_name
    assert target.sink("a").original_schema == changed["schema"]


def test_batch_context_starts_a_batch_once_and_a_drain_hands_that_context_to_process_batch() -> None:
    target = ListTarget()
    target.feed(schema("own"))
    sink = target.sink("own")
    sink.calls.clear()

    context = sink.batch_context()
    assert sink.batch_context() is context
    context["records"] = [{"id": "1"}]
    sink.tally_record_read()
    target.drain_one(sink)
    next_context = sink.batch_context()

    assert next_context is not context
    assert sink.batches == [[{"id": "1"}]]
    assert sink.calls == ["start_batch", "start_drain", "process_batch", "mark_drained", "start_batch"]


def test_check_key_properties_raises_the_sdks_error_for_a_record_without_its_key() -> None:
    target = ListTarget()
    target.feed(schema("own"))
    sink = target.sink("own")

    sink.check_key_properties({"id": "1", "other": 2})
    with pytest.raises(MissingKeyPropertiesError):
        sink.check_key_properties({"other": 2})


class Clock:
    """Stands in for the `time` module the SDK measures record age with."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


def test_records_older_than_five_minutes_drain_and_a_full_drain_resets_their_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr("singer_sdk.target_base.time", clock)
    target = ListTarget()
    target.feed(schema("own"))
    sink = target.sink("own")
    sink.batch_context()["records"] = [{"id": "1"}]
    sink.tally_record_read()

    clock.now += 299
    target.drain_if_records_too_old()
    assert target.seconds_since_full_drain == pytest.approx(299)
    assert sink.batches == []

    clock.now += 2
    target.drain_if_records_too_old()
    assert sink.batches == [[{"id": "1"}]]
    assert target.seconds_since_full_drain == 0


def test_a_message_of_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown message type 'NOPE'"):
        HookedSingerReader().process_unknown_message({"type": "NOPE"})


# Through the target's command line, against PostgreSQL.


def test_given_a_checkpoint_then_an_unknown_message_the_state_is_out_after_its_records_and_the_run_fails(
    database_url: str, tmp_path: Path
) -> None:
    config = {"database_url": database_url, "state_checkpoint_seconds": 0}
    messages = [schema("contacts"), *(record("contacts", hubspot(str(i))) for i in range(3))]

    result = run_target(tmp_path, config, [*messages, state({"n": 1}), {"type": "NOPE"}])

    assert result.returncode != 0
    assert "Unknown message type 'NOPE'" in result.stderr
    assert result.stdout.splitlines() == ['{"n": 1}']
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_contacts_raw") == [{"n": 3}]


def test_given_a_record_the_fast_reader_cannot_skim_then_it_still_lands_exactly_as_sent(
    database_url: str, tmp_path: Path
) -> None:
    # A lone surrogate escape: msgspec refuses it, so the line is decoded in full and dispatched as a message
    # (RECORD → the target's own path through `take_record`). The SDK's path would rewrite `createdAt`.
    messages = [schema("contacts"), record("contacts", hubspot("1", firstname="\ud800"))]

    result = run_target(tmp_path, {"database_url": database_url}, messages)

    assert result.returncode == 0, result.stderr
    rows = query(database_url, "SELECT raw_json FROM hubspot_contacts_raw")
    assert [r["raw_json"]["createdAt"] for r in rows] == ["2024-01-02T03:04:05.678Z"]


def test_given_a_schema_change_after_a_checkpoint_then_later_records_go_to_the_new_sink_and_land(
    database_url: str, tmp_path: Path
) -> None:
    # The target tracks each stream's sink from `get_sink`; after a checkpoint the SDK holds no retired sink
    # any more, so a record handed to the retired one would never be loaded.
    extended = schema("contacts")
    extended["schema"]["properties"]["extra"] = {"type": "string"}
    messages = [
        schema("contacts"),
        record("contacts", hubspot("1")),
        state({"n": 1}),
        extended,
        state({"n": 2}),
        *(record("contacts", {**hubspot(str(i)), "extra": "e"}) for i in (2, 3)),
        state({"n": 3}),
    ]

    result = run_target(tmp_path, {"database_url": database_url, "state_checkpoint_seconds": 0}, messages)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == '{"n": 3}'
    rows = query(database_url, "SELECT hubspot_id, raw_json->>'extra' AS extra FROM hubspot_contacts_raw")
    assert sorted((r["hubspot_id"], r["extra"]) for r in rows) == [("1", None), ("2", "e"), ("3", "e")]
