"""The fault layer: plain ASGI middleware between the journal and whatever answers Druid requests.

It sees only Druid routes (``/__sim/`` is dispatched before it) and works the same in every mode,
because it wraps the model and the replayer alike. For each request it walks the faults in force:
latencies add up (on the virtual clock), and the first fault of any other kind answers. A server
that is not the leader (``simulation.leadership``) redirects as a non-leader Overlord does.
"""

from __future__ import annotations

from druid_sim.asgi import ASGIApp, Receive, Scope, Send
from druid_sim.express import ExpressAnswer, ExpressRequest, express_of
from druid_sim.faults import answers
from druid_sim.faults.spec import Fault
from druid_sim.faults.state import EXTENSION, FaultSet
from druid_sim.runtime import ANSWERED_BY, Simulation
from druid_sim.security.answers import druid_host, forbidden, forbidden_text
from druid_sim.wire import error_page

#: Scope key: the name of the fault that answered the request.
FAULT = "druid_sim.fault"
#: Scope key: names of every fault applied to the request (latencies included), in order.
FAULTS_APPLIED = "druid_sim.faults"
#: The name under which a non-leader's redirects are reported.
LEADERSHIP = "leadership"


class FaultMiddleware:
    """Applies ``simulation.extensions["faults"]`` (a :class:`FaultSet`) to every request it sees."""

    def __init__(self, app: ASGIApp, simulation: Simulation) -> None:
        self.app = app
        self.simulation = simulation
        self._inner = express_of(app)

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """Pass the express question on only while no fault and no non-leader redirect can apply."""
        faults: FaultSet | None = self.simulation.extensions.get(EXTENSION)
        if self._inner is None or (faults is not None and faults.armed):
            return None
        if not self.simulation.leadership.is_leader:
            return None
        return self._inner(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults: FaultSet | None = self.simulation.extensions.get(EXTENSION)
        if faults is not None and faults.armed:
            method, path = scope["method"], scope["path"]
            for fault, rng in faults.firing(method, path):
                scope.setdefault(FAULTS_APPLIED, []).append(fault.name)
                if fault.kind == "latency":
                    await self.simulation.clock.sleep(fault.delay.sample(rng))
                    continue
                await self._answer(fault, scope, receive, send)
                return
        leadership = self.simulation.leadership
        if not leadership.is_leader:
            leader = leadership.leader_url
            path = answers.raw_path(scope)
            scope[ANSWERED_BY] = "fault"
            scope[FAULT] = LEADERSHIP
            scope.setdefault(FAULTS_APPLIED, []).append(LEADERSHIP)
            if answers.is_local(path):
                if path.startswith("/status"):
                    await self.app(scope, receive, send)
                else:
                    await answers.non_leader_local(path, leader, scope)(scope, receive, send)
            elif leader is None:  # a replica while no leader is known (reference 8.1): 503
                await error_page(503, path, answers.header(scope, b"accept"))(scope, receive, send)
            else:
                await answers.redirect(leader, scope)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _answer(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request as ``fault`` says."""
        kind = fault.kind
        path = answers.raw_path(scope)
        local = answers.is_local(path)  # /status* never reaches here for these kinds (Fault.targets)
        if local and (kind == "redirect" or (kind == "no_leader" and fault.answer == "overlord")):
            self._mark(scope, fault)
            await answers.non_leader_local(path, fault.to if kind == "redirect" else None, scope)(scope, receive, send)
            return
        self._mark(scope, fault)
        if kind == "error":
            await answers.error_response(fault, scope)(scope, receive, send)
        elif kind == "redirect":
            await answers.redirect(fault.to, scope)(scope, receive, send)
        elif kind == "no_leader":
            if fault.answer == "router":
                await answers.router_no_leader(scope)(scope, receive, send)
            else:
                await error_page(503, path, answers.header(scope, b"accept"))(scope, receive, send)
        elif kind == "queue_full":
            await answers.queue_full(fault.max_size)(scope, receive, send)
        elif kind == "unauthorized":
            host = druid_host(self.simulation.config.self_url)
            await answers.unauthorized(fault, scope, host)(scope, receive, send)
        elif kind == "forbidden":
            await (forbidden_text() if fault.answer == "text" else forbidden())(scope, receive, send)
        elif kind in ("reset", "empty", "hang"):
            await answers.break_connection(kind, send, receive)
        else:  # truncate, slow_body: the real answer, broken on the way out
            captured = answers.Captured()
            await self.app(scope, receive, captured)
            if captured.start is None:
                return
            if kind == "truncate":
                await answers.send_truncated(captured, fault.keep, send, receive)
            else:
                await answers.send_slowly(captured, fault, self.simulation.clock, send)

    @staticmethod
    def _mark(scope: Scope, fault: Fault) -> None:
        scope[ANSWERED_BY] = "fault"
        scope[FAULT] = fault.name
