"""Generated records of the synthetic portal: properties from (seed, type, id), plus the parts that depend on
the association graph (counts of associated records, the phone number a call carries).

`num_associated_*` count the generated graph only: association edits move no modified date [hubspot-api.md
§13], so a count that followed them would change without anything telling a reader that it did."""

from __future__ import annotations

from collections.abc import Mapping

from . import generate as g
from .associations import Associations
from .store import TypeStore


class RecordFactory:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.stores: Mapping[str, TypeStore] = {}
        self.associations: Associations | None = None  # set once built (it needs the stores)

    def _graph(self) -> Associations:
        assert self.associations is not None, "records are generated after the associations are built"
        return self.associations

    def __call__(self, type_name: str, o: int, created: int, modified: int) -> dict[str, str | None]:
        seed = self.seed
        obj_id = self.stores[type_name].layout.id_of(o)
        props: dict[str, str | None]
        if type_name == "contacts":
            props = g.gen_contact(seed, obj_id, created, modified)
            props["num_associated_deals"] = str(self._graph().generated_count("contacts", o, "deals"))
            merged = props["hs_merged_object_ids"]
            if merged:  # merged before the portal's history began: ids no record has any more
                layout = self.stores["contacts"].layout
                props["hs_merged_object_ids"] = ";".join(
                    str(layout.vacant_id_near(int(x))) for x in merged.split(";")
                )
        elif type_name == "deals":
            props = g.gen_deal(seed, obj_id, created, modified)
            props["num_associated_contacts"] = str(self._graph().generated_count("deals", o, "contacts"))
        elif type_name == "calls":
            contact = self.counterpart(o)
            digits = (
                None
                if contact is None
                else g.phone_digits(seed, self.stores["contacts"].layout.id_of(contact))
            )
            props = g.gen_call(seed, obj_id, created, modified, digits)
        elif type_name == "companies":
            props = g.gen_company(seed, obj_id, created, modified)
        elif type_name == "tickets":
            props = g.gen_ticket(seed, obj_id, created, modified)
        else:
            props = g.gen_meeting(seed, obj_id, created, modified)
        return props

    def counterpart(self, call_ord: int) -> int | None:
        """Ordinal of the contact whose number a generated call carries on the contact's side, or None."""
        associated = self._graph().call_contact.get(call_ord)
        position = g.call_counterpart_contact(
            self.seed,
            call_ord + 1,
            None if associated is None else associated + 1,
            self.stores["contacts"].generated,
        )
        return None if position is None else position - 1
