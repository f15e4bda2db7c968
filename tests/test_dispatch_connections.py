"""A job waiting on the PBX holds none of the database pool's connections: the pool has
15 (5 + 10 overflow) for the web's requests and the queue's workers together, and a
PBX may take up to WIDGET_PBX_DEADLINE to answer a call_back."""

from __future__ import annotations

from widget_server.extensions import db

from .dispatch_support import FakePbx, World


class PoolWatchingPbx(FakePbx):
    """Notes, at each call_back, whether the job's session held a connection meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.held_during_call: list[bool] = []

    def call_back(self, phone: str, *, from_pin: str) -> str:
        self.held_during_call.append(("call_back", db.session().in_transaction()))
        return super().call_back(phone, from_pin=from_pin)

    def call_info(self, session_id: str):
        self.held_during_call.append(("call_info", db.session().in_transaction()))
        return super().call_info(session_id)


def test_a_call_back_waiting_on_the_pbx_holds_no_database_connection(tmp_path):
    world = World(tmp_path)
    pbx = PoolWatchingPbx()
    world.app.extensions["pbx_client_factory"] = pbx
    world.submit()
    world.jobs.run()
    assert pbx.held_during_call == [("call_back", False)]


def test_a_job_asking_call_info_holds_no_database_connection_while_it_waits(tmp_path):
    world = World(tmp_path)
    pbx = PoolWatchingPbx()
    world.app.extensions["pbx_client_factory"] = pbx
    world.submit()
    world.jobs.run()
    world.later("follow_call")  # the ring timeout: the call is looked at
    asked = [held for name, held in pbx.held_during_call if name == "call_info"]
    assert asked and not any(asked), pbx.held_during_call
