"""The API actions, from validated request fields to the panel's answer."""

from __future__ import annotations

from ._refills import RefillBook
from ._request_fields import Fields, integer_field, present, read_ids, required
from ._state import Account, PanelState, Refusal
from ._wire import Reply, Wire

__all__ = ["FOREIGN_ORDER_MODES", "Actions"]

FOREIGN_ORDER_MODES = ("whole_request", "per_order")
_KNOWN_FIELDS = frozenset({"key", "action", "service", "link", "quantity"})


class Actions:
    """Answers `services`, `add`, `status`, `balance`, `cancel`, `refill` and
    `refill_status` for an account."""

    def __init__(
        self,
        state: PanelState,
        wire: Wire,
        *,
        currency: str,
        foreign_order_mode: str,
    ) -> None:
        if foreign_order_mode not in FOREIGN_ORDER_MODES:
            msg = (
                f"foreign_order_mode must be one of {FOREIGN_ORDER_MODES}, "
                f"got {foreign_order_mode!r}"
            )
            raise ValueError(msg)
        self._state = state
        self._wire = wire
        self._currency = currency
        self._whole_request = foreign_order_mode == "whole_request"
        self._incorrect_id = {"error": "Incorrect order ID"}
        self._refills = RefillBook()
        # The catalogue never changes, so its answer is encoded once.
        self._services = wire.ok(
            [
                {
                    "service": wire.num(s.service),
                    "name": s.name,
                    "type": s.type,
                    "category": s.category,
                    "rate": wire.money(s.rate),
                    "min": wire.num(s.min),
                    "max": wire.num(s.max),
                    "refill": s.refill,
                    "cancel": s.cancel,
                }
                for s in state.services.values()
            ]
        )

    def dispatch(
        self, action: str | None, account: Account, fields: Fields
    ) -> tuple[Reply, tuple[int, ...]]:
        """Run `action` and return the answer and the order ids it touched."""
        if not present(action):
            return self._wire.invalid(
                {"action": [required("action")]}, message=False
            ), ()
        if action == "services":
            return self._services, ()
        if action == "add":
            return self.add(account, fields)
        if action == "status":
            return self.status(account, fields)
        if action == "balance":
            return self.balance(account), ()
        if action == "cancel":
            return self.cancel(account, fields)
        if action == "refill":
            return self.refill(account, fields)
        if action == "refill_status":
            return self.refill_status(account, fields), ()
        return self._wire.error("Invalid action"), ()

    def add(self, account: Account, fields: Fields) -> tuple[Reply, tuple[int, ...]]:
        """Validate and place an order; `{"order_id": id}` on success."""
        errors: dict[str, list[str]] = {}
        service = integer_field(fields, "service", errors)
        link = fields.get("link")
        quantity = integer_field(fields, "quantity", errors)
        interval = integer_field(fields, "interval", errors)
        runs = integer_field(fields, "runs", errors)
        for name, value in (
            ("service", service),
            ("link", link),
            ("quantity", quantity),
        ):
            if not present(value) and name not in errors:
                errors[name] = [required(name)]
        if errors or service is None or quantity is None:
            # Laravel lists the errors in the order the rules are declared.
            order = ("service", "link", "quantity", "interval", "runs")
            return self._wire.invalid({k: errors[k] for k in order if k in errors}), ()
        spread = 60.0 * interval * max((runs or 0) - 1, 1) if interval else 0.0
        extra = {k: v for k, v in fields.items() if k not in _KNOWN_FIELDS}
        try:
            created = self._state.add(
                account,
                service_id=service,
                link=str(link),
                quantity=quantity,
                extra=extra,
                spread=spread,
            )
        except Refusal as refusal:
            return self._wire.error(refusal.message, refusal.status), ()
        return self._wire.ok({"order_id": self._wire.num(created.id)}), (created.id,)

    def status(self, account: Account, fields: Fields) -> tuple[Reply, tuple[int, ...]]:
        """Report orders keyed by id; a lone `order` gets the flat answer."""
        tokens, ids, refused = read_ids(self._wire, fields)
        if refused is not None:
            return refused, ids
        state, wire = self._state, self._wire
        now = state.settle()
        orders = state.orders
        if self._whole_request:
            for known in ids:
                owner = orders[known].account if known in orders else account
                if owner is not account:
                    return wire.error("Unauthorized access to order status", 403), ids
        answer: dict[str, object] = {}
        for token, order_id in tokens:
            order = None if order_id is None else orders.get(order_id)
            if order is None or order.account is not account:
                answer[token] = self._incorrect_id
                continue
            status, start_count, remains, charge = order.view(now)
            answer[token] = {
                "charge": wire.money(charge),
                "start_count": wire.num(start_count),
                "status": wire.status(status, order.id),
                "remains": wire.num(remains),
                "currency": self._currency,
            }
        if not present(fields.get("orders")):
            single = next(iter(answer.values()))
            if single is self._incorrect_id:
                return wire.error("Incorrect order ID"), ids
            return wire.ok(single), ids
        return wire.ok(answer), ids

    def balance(self, account: Account) -> Reply:
        """Report the account's balance."""
        self._state.settle()
        wire = self._wire
        return wire.ok(
            {"balance": wire.money(account.balance), "currency": self._currency}
        )

    def cancel(self, account: Account, fields: Fields) -> tuple[Reply, tuple[int, ...]]:
        """Cancel each listed order, reporting per order with its refund."""
        tokens, ids, refused = read_ids(self._wire, fields)
        if refused is not None:
            return refused, ids
        state, wire = self._state, self._wire
        now = state.settle()
        answer: list[dict[str, object]] = []
        for token, order_id in tokens:
            try:
                refund = state.cancel(account, order_id, now)
            except Refusal as refusal:
                answer.append({"order": token, "cancel": {"error": refusal.message}})
            else:
                item: dict[str, object] = {
                    "order": token,
                    "cancel": wire.num(1),
                    "refund": wire.money(refund),
                }
                answer.append(item)
        return wire.ok(answer), ids

    def refill(self, account: Account, fields: Fields) -> tuple[Reply, tuple[int, ...]]:
        """Refill each listed order; a lone `order` gets `{"refill": id}`."""
        tokens, ids, refused = read_ids(self._wire, fields)
        if refused is not None:
            return refused, ids
        state, wire = self._state, self._wire
        now = state.settle()
        answer: list[dict[str, object]] = []
        for token, order_id in tokens:
            order = None if order_id is None else state.orders.get(order_id)
            try:
                refill_id = self._refills.request(account, order, now)
            except Refusal as refusal:
                answer.append({"order": token, "refill": {"error": refusal.message}})
            else:
                answer.append({"order": token, "refill": wire.num(refill_id)})
        if not present(fields.get("orders")):
            single = answer[0]["refill"]
            if isinstance(single, dict):
                return wire.error(str(single["error"])), ids
            return wire.ok({"refill": single}), ids
        return wire.ok(answer), ids

    def refill_status(self, account: Account, fields: Fields) -> Reply:
        """Report each listed refill; a lone `refill` gets `{"status": ...}`."""
        tokens, _, refused = read_ids(self._wire, fields, "refills", "refill")
        if refused is not None:
            return refused
        wire = self._wire
        now = self._state.settle()
        answer: list[dict[str, object]] = []
        for token, refill_id in tokens:
            try:
                status = self._refills.status(account, refill_id, now)
            except Refusal as refusal:
                answer.append({"refill": token, "status": {"error": refusal.message}})
            else:
                spelled = wire.status(status, refill_id or 0)
                answer.append({"refill": token, "status": spelled})
        if not present(fields.get("refills")):
            single = answer[0]["status"]
            if isinstance(single, dict):
                return wire.error(str(single["error"]))
            return wire.ok({"status": single})
        return wire.ok(answer)
