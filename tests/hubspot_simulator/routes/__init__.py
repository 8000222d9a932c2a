"""HubSpot endpoint families and the control API, one module each; `add_all` registers every route."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import associations, batch, control, labels, oauth, objects, properties, search

if TYPE_CHECKING:
    from ..server import Simulator


def add_all(router: web.UrlDispatcher, sim: Simulator) -> None:
    for family in (oauth, properties, objects, search, batch, associations, labels, control):
        family.add_routes(router, sim)
