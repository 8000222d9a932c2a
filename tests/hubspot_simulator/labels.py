"""What turns the ids in records into names: owners, pipelines with their stages, call dispositions and the
labels of enumeration values. Declarative tables; records carry ids from here, plus a few that resolve to
nothing (UNRESOLVED), as on a real portal [issue 16].

Shapes: owners [SPEC CRM/Crm Owners v3 `PublicOwner`]; pipelines and stages [SPEC CRM/Pipelines v3
`Pipeline`, `PipelineStage`; deal stage metadata `isClosed`/`probability` as strings, obs in connector code;
ticket stages `ticketState`, SPEC example]; dispositions [doc legacy "Get call engagement dispositions":
a JSON array of {id, label}]; the default disposition GUIDs [hubspot-api.md §6].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EPOCH = "1970-01-01T00:00:00Z"  # default pipelines have createdAt = 0 [SPEC Pipeline.createdAt]


@dataclass(frozen=True)
class Owner:
    id: str
    user_id: int | None
    email: str
    first_name: str
    last_name: str
    created_at: str
    updated_at: str
    archived: bool = False
    type: str = "PERSON"
    teams: tuple[tuple[str, str, bool], ...] = ()  # (id, name, primary)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "type": self.type,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": self.archived,
        }
        if self.user_id is not None:
            out["userId"] = self.user_id
            out["userIdIncludingInactive"] = self.user_id
        if self.teams:
            out["teams"] = [{"id": i, "name": n, "primary": p} for i, n, p in self.teams]
        return out


SALES, SUPPORT = ("178588", "West Coast Sales"), ("178590", "Support")
OWNERS: tuple[Owner, ...] = (
    Owner(
        "52550153", 9586504, "anna.petrova@example.com", "Anna", "Petrova",
        "2019-12-25T13:01:35.228Z", "2023-03-01T09:12:44.101Z", teams=((*SALES, True),),
    ),
    Owner(
        "61847123", 9586511, "john.smith@example.com", "John", "Smith",
        "2020-02-11T08:30:00.000Z", "2024-06-17T15:02:10.519Z", teams=((*SALES, True), (*SUPPORT, False)),
    ),
    Owner(
        "75938102", 9586530, "maria.ivanova@example.com", "Мария", "Иванова",
        "2021-05-04T10:00:12.345Z", "2021-05-04T10:00:12.345Z",
    ),
    Owner(
        "1193457", 1193457, "sim@example.com", "Integration", "User",
        "2019-10-30T03:30:17.883Z", "2019-12-07T16:50:06.678Z",
    ),
    Owner(
        "90000001", None, "support-queue@example.com", "Support", "Queue",
        "2022-01-10T12:00:00.000Z", "2022-01-10T12:00:00.000Z", type="QUEUE", teams=((*SUPPORT, True),),
    ),
    Owner(
        "90000002", 9586577, "li.wei@example.com", "伟", "李",
        "2023-08-21T07:45:00.000Z", "2024-01-02T11:11:11.111Z", teams=((*SUPPORT, True),),
    ),
    # left the company: listed only with archived=true, so old records still resolve [issue 16]
    Owner(
        "80412211", 9586542, "former.rep@example.com", "Former", "Rep",
        "2020-07-01T09:00:00.000Z", "2024-11-30T17:00:00.000Z", archived=True,
    ),
)  # fmt: skip
# ids records carry (the generator's choice), including ones no endpoint resolves
RECORD_OWNER_IDS = ("52550153", "61847123", "75938102", "80412211", "1193457", "345678901")


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]
    created_at: str = EPOCH
    updated_at: str = "2021-03-15T10:20:30.400Z"

    def to_json(self, display_order: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": display_order,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": False,
            "stages": [
                {
                    "id": s.id,
                    "label": s.label,
                    "displayOrder": i,
                    "metadata": dict(s.metadata),
                    "createdAt": self.created_at,
                    "updatedAt": self.updated_at,
                    "archived": False,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for i, s in enumerate(self.stages)
            ],
        }


def _deal(stage_id: str, label: str, probability: str, closed: bool = False) -> Stage:
    return Stage(stage_id, label, {"isClosed": "true" if closed else "false", "probability": probability})


def _ticket(stage_id: str, label: str, state: str) -> Stage:
    return Stage(stage_id, label, {"ticketState": state})


PIPELINES: dict[str, tuple[Pipeline, ...]] = {
    "deals": (
        Pipeline(
            "default",
            "Sales Pipeline",
            (
                _deal("appointmentscheduled", "Appointment Scheduled", "0.2"),
                _deal("qualifiedtobuy", "Qualified To Buy", "0.4"),
                _deal("presentationscheduled", "Presentation Scheduled", "0.6"),
                _deal("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
                _deal("contractsent", "Contract Sent", "0.9"),
                _deal("closedwon", "Closed Won", "1.0", closed=True),
                _deal("closedlost", "Closed Lost", "0.0", closed=True),
            ),
        ),
        Pipeline(
            "710688094",
            "Renewals",
            (
                _deal("1038193692", "Renewal due", "0.5"),
                _deal("1038193693", "Renewed", "1.0", closed=True),
                _deal("1038193694", "Churned", "0.0", closed=True),
            ),
            created_at="2022-09-01T08:00:00.000Z",
        ),
    ),
    "tickets": (
        Pipeline(
            "0",
            "Support Pipeline",
            (
                _ticket("1", "New", "OPEN"),
                _ticket("2", "Waiting on contact", "OPEN"),
                _ticket("3", "Waiting on us", "OPEN"),
                _ticket("4", "Closed", "CLOSED"),
            ),
        ),
    ),
}
# a stage deleted from the default pipeline; old deals still carry it, no endpoint resolves it
REMOVED_DEAL_STAGE = "1009238471"

DISPOSITIONS: dict[str, str] = {  # GUID -> label: HubSpot's defaults, then a custom outcome
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
    "3e5b0f2a-8c4d-4f6e-9a1b-2c3d4e5f6a7b": "Requested callback",
}
# a custom outcome deleted since; old calls still carry it, no endpoint resolves it
DELETED_DISPOSITION = "5d2b7e8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f"

LIFECYCLE: dict[str, str] = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
}

UNRESOLVED = {
    "hubspot_owner_id": ("345678901",),  # not in the owners API, archived or not
    "dealstage": (REMOVED_DEAL_STAGE,),
    "hs_call_disposition": (DELETED_DISPOSITION,),
}


def stage_labels(object_type: str) -> dict[str, str]:
    """stage id -> label over every pipeline of the type (the stage property's options)."""
    return {s.id: s.label for p in PIPELINES.get(object_type, ()) for s in p.stages}


def pipeline_labels(object_type: str) -> dict[str, str]:
    return {p.id: p.label for p in PIPELINES.get(object_type, ())}


def owner_name(owner_id: str) -> str | None:
    """The "First Last" of a listed owner (archived included), None for an id no endpoint resolves."""
    owner = next((o for o in OWNERS if o.id == owner_id), None)
    return None if owner is None else f"{owner.first_name} {owner.last_name}"
