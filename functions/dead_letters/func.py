"""dead-letters: where the broker sends an event whose delivery it gave up on.

Every Trigger's delivery names this Knative Service as its deadLetterSink. The
broker POSTs the event as it was, plus Knative's error extensions: where
delivery failed (knativeerrordest), the last status (knativeerrorcode) and the
start of the last answer (knativeerrordata, base64). The function keeps each in
the orders context's database, once per event and destination (the sink is
delivered to at least once too), and lists the newest on GET /dead-letters
(admin), outside the public API: the gateway does not route it; reach it with
`kubectl port-forward`.

An HTTP function rather than an event function, because it answers the admin
list as well as the events; the event is read with the cloudevents SDK all the
same (functions/broker/wire_format.py, the local broker's strict reading).
Nothing is replied: the saga is finished by the re-drive, not from here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from cloudevents.core.base import BaseCloudEvent
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from functions.broker import wire_format
from functions.runtime.http_function import HttpFunction
from shop.persistence.dead_letter_store import DeadLetter
from shop.problems import Problem
from shop.usecases import dead_letters
from shop.web.asgi import json_response, read_body


class DeadLetterQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=dead_letters.MAX_LISTED)] = 100


class DeadLetterOut(BaseModel):
    event_source: str
    event_id: str
    event_type: str
    subject: str | None
    error_destination: str
    error_code: int | None
    error_data: str | None
    received_at: datetime
    event: dict

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterOut:
        return cls(**{**vars(letter), "event": json.loads(letter.event)})


class DeadLetterList(BaseModel):
    items: list[DeadLetterOut]


def letter_of(event: BaseCloudEvent, received_at: datetime) -> DeadLetter:
    """The row to keep for a dead-lettered event (its Knative error extensions read)."""
    code = event.get_extension("knativeerrorcode")
    try:
        error_code = None if code is None else int(code)
    except ValueError:
        error_code = None
    data = event.get_extension("knativeerrordata")
    return DeadLetter(
        event_source=event.get_source(),
        event_id=event.get_id(),
        error_destination=str(event.get_extension("knativeerrordest") or ""),
        event_type=event.get_type(),
        subject=event.get_subject(),
        error_code=error_code,
        error_data=None if data is None else str(data),
        event=json.dumps(wire_format.describe(event)),
        received_at=received_at,
    )


class DeadLetters(HttpFunction):
    name = "dead-letters"
    contexts = ("orders",)
    routes = [
        ("POST", r"/", "receive"),
        ("GET", r"/dead-letters", "list_letters"),
    ]

    async def receive(self, request: Request) -> Response:
        body = await read_body(request, self.settings.max_body_bytes)
        try:
            event = wire_format.parse(dict(request.headers), body)
        except wire_format.InvalidEvent as error:
            raise Problem("malformed-request", str(error)) from None
        letter = letter_of(event, datetime.now(UTC))
        new = await self.run(self._record, letter)
        self.log.warning(
            "dead letter %s %s (subject %s) at %s: status %s%s",
            letter.event_type,
            letter.event_id,
            letter.subject or "-",
            letter.error_destination or "-",
            letter.error_code,
            "" if new else ", kept already",
        )
        return Response(status_code=204)

    def _record(self, letter: DeadLetter) -> bool:
        with self.databases["orders"].writing() as session:
            return dead_letters.record(session, letter)

    async def list_letters(self, request: Request) -> Response:
        self.admin(request)
        limit = self.query(request, DeadLetterQuery).limit
        found = await self.run(self._newest, limit)
        return json_response(DeadLetterList(items=[DeadLetterOut.of(d) for d in found]))

    def _newest(self, limit: int) -> list[DeadLetter]:
        with self.databases["orders"].reading() as session:
            return dead_letters.newest(session, limit)


def new() -> DeadLetters:
    return DeadLetters()
