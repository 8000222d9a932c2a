"""HubSpot CRM API simulator (aiohttp) for offline tests, the demo and benchmarks.

Python API::

    from tests.hubspot_simulator import SimulatorConfig, start_simulator
    sim = start_simulator(SimulatorConfig(contacts=200, deals=50, calls=80, seed=1))
    sim.url                     # "http://127.0.0.1:PORT" (background thread, own event loop)
    sim.portal.get_object("contacts", "17")          # full object: all properties, associations, archived
    sim.portal.iter_objects("contacts", archived=False)
    sim.portal.update_object("contacts", 17, {"email": "x@y.z"})   # bumps modified date (or timestamp_ms=)
    sim.portal.create_object("deals", {"dealname": "New"}); sim.portal.archive_object("calls", 5)
    sim.portal.add_association("contacts", 1, "deals", 2); sim.portal.remove_association(...)
    sim.portal.merge_objects("contacts", 1, 2)       # a NEW record; reads of 1 and 2 answer with it
    sim.portal.delete_object("contacts", 3); sim.portal.purge_archived("contacts")   # hard deletes
    sim.portal.update_object(..., timestamp_ms=..., indexing_delay_ms=...); sim.portal.flush_indexing()
    sim.truth("contacts")   # live/archived ids, merged id -> answering id, deleted ids, search total
    sim.portal.counts(); sim.stats(); sim.reset_stats(); sim.update_config(error_rate=0.1); sim.stop()

HubSpot endpoints (Bearer auth; object type = plural, singular or type id such as 0-1/0-3/0-48)::

    GET  /crm/v3/objects/{type}                 list: limit<=100 (50 with propertiesWithHistory), after,
                                                properties, propertiesWithHistory, associations, archived
    GET  /crm/v3/objects/{type}/{id}            (a merged-away id answers with its merge)
    POST /crm/v3/objects/{type}/search          limit<=200, after<10000, filterGroups/filters, sorts
    POST /crm/v3/objects/{type}/batch/read      <=100 inputs (50 with history), 207 OBJECT_NOT_FOUND
    GET  /crm/v3/properties/{type}
    POST /crm/v4/associations/{from}/{to}/batch/read      <=1000 inputs, per-from paging
    GET  /crm/v4/objects/{type}/{id}/associations/{to}
    GET  /crm/v3/owners                         limit<=500, after, archived, email
    GET  /crm/v3/pipelines/{deals|tickets}      pipelines with stages (labels, metadata)
    GET  /calling/v1/dispositions               [{id, label}] (call outcome GUIDs)
    POST /oauth/v1/token, /oauth/2026-03/token  grant_type=refresh_token
    GET  /oauth/v1/access-tokens/{token}

Control API (no auth, never rate limited or faulted)::

    GET   /_simulator/config                   config + object counts
    PATCH /_simulator/config  {field: value}   runtime fields: latency_ms, latency_jitter_ms, error_rate,
          (or POST)                            error_statuses, drop_rate, slow_rate, slow_ms, force_429,
                                               rate_limits_enabled, burst_limit, burst_window_ms,
                                               search_limit,
                                               search_window_ms, daily_limit, indexing_delay_ms,
                                               late_indexing_fraction, late_indexing_max_ms, list_cursor,
                                               max_request_target, association_page_size, access_tokens, ...;
                                               "reset_rate_limits": true empties the windows
    GET   /_simulator/stats                    {"total", "by_kind", "by_status", "rate_limited", ...}
    POST  /_simulator/stats/reset              zero counters and rate-limit windows
    GET   /_simulator/requests                 recent request log (method, path, kind, status, target_length)
    POST  /_simulator/objects/{type}           {"properties": {...}, "timestamp": ms|ISO}  -> 201 object
    GET   /_simulator/objects/{type}/{id}      full object
    PATCH /_simulator/objects/{type}/{id}      {"properties": {...}, "timestamp": ms|ISO}  (default now)
    POST  /_simulator/objects/{type}/{id}/archive   {"timestamp": ...}
    DELETE /_simulator/objects/{type}/{id}     hard delete (GDPR delete; one record of a bin purge)
    POST  /_simulator/objects/{type}/merge     {"primaryObjectId", "objectIdToMerge"} -> 201 the new record
    POST  /_simulator/objects/{type}/purge     {"archived_before": ms|ISO|null} -> {"deleted": [ids]}
          (every write above also takes "indexing_delay_ms": search shows it that long after "timestamp")
    POST  /_simulator/index/flush              make every pending change searchable now
    GET   /_simulator/truth/{type}             live_ids, archived_ids, merged, deleted, search_total
    PUT|DELETE /_simulator/associations/{from}/{from_id}/{to}/{to_id}   (modified dates do not move)

CLI: ``python -m tests.hubspot_simulator --port 0 --contacts 29000 ...`` prints ``READY http://HOST:PORT``.

Labels (owners, pipelines, dispositions, enumeration labels) and the ids that resolve to nothing are
declared in ``labels``; tests compare against them directly.

Id layouts: ``SimulatorConfig(id_layout="dense")`` numbers records 1..N; ``"sparse"`` lays them out as real
portals do (small ids first, then 10-11 digit ids with large gaps). ``list_cursor="id"`` sends the last
id + 1 as the list endpoint's ``after``; ``"opaque"`` sends a token that must be passed back unchanged.

Layout: ``server`` wires the app; ``routes/`` holds one module per endpoint family and the control API;
``middleware`` runs ``auth``, ``limits``, ``faults`` and ``stats`` in front of them; ``paging`` makes the
cursors. The data side is ``portal`` (the facade, by id, and its lock) over ``store`` (records of one type,
by ordinal: ``ids`` maps the two), ``records`` (generated values), ``changes`` and ``overlay`` (what changed),
``indexing`` (when search sees it), ``associations``, ``search_index`` and ``search``/``filters`` (the
search engine); ``generate``, ``text_pools`` and ``schema`` say what the synthetic portal contains.
"""

from .config import SimulatorConfig
from .portal import Portal
from .server import Simulator, start_simulator

__all__ = ["Portal", "Simulator", "SimulatorConfig", "start_simulator"]
