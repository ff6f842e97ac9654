"""``careedge provision``: the technicians' commands. Options here, work in ``operations``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from careedge.provision import operations
from careedge.provision.pki import PkiError
from careedge.provision.store import Kind, ProvisionError, ProvisionSettings, ProvisionStore
from careedge_common.config import IDENTIFIER

EXIT_PROBLEM = 2

provision_app = typer.Typer(
    no_args_is_help=True, help="Set up a site: CA, gateway and bridge certificates, broker, bundles."
)
ca_app = typer.Typer(no_args_is_help=True, help="The site certificate authority.")
provision_app.add_typer(ca_app, name="ca")

DirOption = Annotated[
    Path,
    typer.Option("--dir", "-d", envvar="CAREEDGE_PROVISION_DIR", help="Provisioning directory of the site."),
]
IdArgument = Annotated[str, typer.Argument(help="ID as in the site config (lower case, digits, - or _).")]
DaysOption = Annotated[
    int | None, typer.Option(min=1, max=36500, help="Validity in days (default from provision.yaml).")
]
RenewOption = Annotated[bool, typer.Option(help="Replace a certificate in force (the old one is revoked).")]
DEFAULT_DIR = Path("provisioning")


def _say(line: str) -> None:
    typer.echo(line)


def _run(action: Callable[[], object]) -> None:
    """Turn the errors a technician can fix into one line on stderr and exit status 2."""
    try:
        action()
    except (ProvisionError, PkiError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_PROBLEM) from exc


def _identity(value: str) -> str:
    if not re.match(IDENTIFIER, value):
        typer.echo(f"error: {value!r} is not an ID (lower case letters, digits, '-' or '_')", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    return value


@ca_app.command("create")
def ca_create(
    site: Annotated[str, typer.Option(help="Site ID, as in the site config.")],
    directory: DirOption = DEFAULT_DIR,
    ca_days: Annotated[int, typer.Option(min=1, max=36500)] = 3650,
    gateway_days: Annotated[int, typer.Option(min=1, max=36500)] = 825,
    bridge_days: Annotated[int, typer.Option(min=1, max=36500)] = 825,
) -> None:
    """Create the site CA and config signing key in a new provisioning directory."""
    settings = ProvisionSettings(
        site=_identity(site), ca_days=ca_days, gateway_days=gateway_days, bridge_days=bridge_days
    )
    _run(lambda: operations.create_ca(ProvisionStore(directory), settings, _say))


@ca_app.command("import")
def ca_import(
    site: Annotated[str, typer.Option(help="Site ID, as in the site config.")],
    cert: Annotated[Path, typer.Option(help="The existing CA certificate (PEM).")],
    key: Annotated[Path, typer.Option(help="Its private key (PEM, unencrypted, EC).")],
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Take an existing CA (the operator's own) instead of creating one."""
    settings = ProvisionSettings(site=_identity(site))
    _run(lambda: operations.import_ca(ProvisionStore(directory), settings, cert, key, _say))


def _identity_commands(kind: Kind) -> typer.Typer:
    """``issue`` and ``revoke`` for one kind of client; gateways and bridges differ only in name."""
    kind_app = typer.Typer(no_args_is_help=True, help=f"{kind.capitalize()} certificates.")

    @kind_app.command("issue")
    def issue(
        identity: IdArgument,
        directory: DirOption = DEFAULT_DIR,
        days: DaysOption = None,
        renew: RenewOption = False,
    ) -> None:
        """Key and certificate (the ID is the certificate's CN, the broker's name for the client)."""
        store = ProvisionStore(directory)
        _run(lambda: operations.issue(store, kind, _identity(identity), days, renew, _say))

    @kind_app.command("revoke")
    def revoke(identity: IdArgument, directory: DirOption = DEFAULT_DIR) -> None:
        """Revoke: new CRL and ACL; the broker refuses the certificate after a restart."""
        _run(lambda: operations.revoke(ProvisionStore(directory), kind, _identity(identity), _say))

    return kind_app


provision_app.add_typer(_identity_commands("gateway"), name="gateway")
provision_app.add_typer(_identity_commands("bridge"), name="bridge")


@provision_app.command()
def broker(
    host: Annotated[list[str], typer.Option(help="Name or IP clients connect to (repeat for more).")],
    directory: DirOption = DEFAULT_DIR,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8883,
    bind: Annotated[str, typer.Option(help="Address the listener binds to.")] = "0.0.0.0",
    install_dir: Annotated[
        Path | None, typer.Option(help="Where the broker files will live on the broker machine.")
    ] = None,
) -> None:
    """Write Mosquitto's listener config, ACL file, server certificate, CA and CRL to broker/."""
    store = ProvisionStore(directory)
    _run(lambda: operations.write_broker(store, tuple(host), port, bind, install_dir, _say))


@provision_app.command()
def bundle(
    gateway_id: IdArgument,
    config: Annotated[Path, typer.Option("--config", "-c", help="The gateway's site config YAML.")],
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Sign a gateway's site config (Ed25519) into the next version of its bundle."""
    store = ProvisionStore(directory)

    def sign() -> None:
        try:
            text = store.read(config).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProvisionError(f"{config} is not UTF-8 text: {exc}") from exc
        operations.sign_bundle(store, _identity(gateway_id), text, _say)

    _run(sign)


@provision_app.command()
def show(directory: DirOption = DEFAULT_DIR) -> None:
    """List the CA, every certificate issued (expiry, revocation), CRL and bundle versions."""

    def print_lines() -> None:
        for line in operations.show(ProvisionStore(directory)):
            _say(line)

    _run(print_lines)
