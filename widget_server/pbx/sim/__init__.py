"""A Rostelecom Virtual PBX simulator speaking the real integration protocol over HTTP.

Signed ``POST /<method>`` for users_info, call_back, call_info and get_record;
placed calls are played back as signed ``call_events`` webhooks to
``{WEBHOOK_BASE}/call_events``. The visitor number picks a scenario
(see ``scenarios.SCENARIOS``). Unsigned ``/_sim/`` endpoints let tests and
benchmarks inspect and steer it.
"""

from __future__ import annotations

from .app import create_sim_app
from .scenarios import SCENARIOS
from .server import RunningSim, run_sim, start_sim_thread
from .settings import DEFAULTS, sim_config_from_env
from .state import SimState

__all__ = [
    "DEFAULTS",
    "SCENARIOS",
    "RunningSim",
    "SimState",
    "create_sim_app",
    "run_sim",
    "sim_config_from_env",
    "start_sim_thread",
]
