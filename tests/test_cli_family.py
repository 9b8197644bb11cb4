"""`toplist` and `toplist fake-panel` in another panel's dialect, form-only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.test_cli import _read_url, _spawn, _stop, cli
from toplist_async import Dialect
from toplist_async._dialect_options import dialect_from
from toplist_async.testing._runner import build_parser

FAMILY = (
    "--speed 0 --seed-orders 3 --seed-orders-key k-family --form-only "
    "--key-field api_token --one-id-field status=order --many-action status=multistatus"
)
DIALECT = (
    "--key-field", "api_token",
    "--one-id-field", "status=order",
    "--many-action", "status=multistatus",
)  # fmt: skip


@pytest.fixture(scope="module")
def family_url() -> Iterator[str]:
    """A fake panel in its own process that reads form bodies only, the key from
    `api_token`, one order as `order=` and several only under `multistatus`."""
    process = _spawn("-m", "toplist_async.testing", "--port", "0", *FAMILY.split())
    try:
        yield _read_url(process)
    finally:
        _stop(process)


def test_the_cli_speaks_the_panels_dialect(
    capsys: pytest.CaptureFixture[str], family_url: str
) -> None:
    base = ("--base-url", family_url, "--api-key", "k-family")
    one = cli(capsys, *base, *DIALECT, "status", "2", "--json")
    assert one.code == 0, one.err
    assert json.loads(one.out)["2"]["order_id"] == 2
    many = cli(capsys, *base, "status", "1,2,3", *DIALECT, "--json")
    assert many.code == 0, many.err
    assert sorted(json.loads(many.out)) == ["1", "2", "3"]


def test_without_the_dialect_the_panel_refuses(
    capsys: pytest.CaptureFixture[str], family_url: str
) -> None:
    base = ("--base-url", family_url, "--api-key", "k-family")
    no_key_field = cli(capsys, *base, "balance")
    assert no_key_field.code == 3  # the panel never found the key
    json_body = cli(
        capsys, *base, "--key-field", "api_token", "--encoding", "json", "balance"
    )
    assert json_body.code == 3  # a form-only panel reads no JSON body
    plain_status = cli(capsys, *base, "--key-field", "api_token", "status", "1")
    assert plain_status.code == 4
    assert "order id(s) required" in plain_status.err


def test_a_bad_pair_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    run = cli(capsys, "--api-key", "k", "--many-action", "status", "balance")
    assert run.code == 2
    assert "--many-action takes ACTION=NAME" in run.err


def test_the_fake_panels_options_make_its_dialect() -> None:
    args = build_parser().parse_args(FAMILY.split())
    assert args.form_only is True
    assert dialect_from(args) == Dialect(
        key_field="api_token",
        one_id_fields={"status": "order"},
        many_actions={"status": "multistatus"},
    )
    assert dialect_from(build_parser().parse_args([])) is None
