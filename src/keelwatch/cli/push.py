"""`keelwatch push`: upload an image (an OCI layout, multi-arch included) to a registry."""

from __future__ import annotations

import typer

from keelwatch.oci.image import DEFAULT_PLATFORM


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command("push")
    def push(
        source: str = typer.Argument(
            ..., help="oci:PATH or oci:PATH:TAG (also docker-archive:PATH or a registry ref)"
        ),
        destination: str = typer.Argument(..., help="registry reference, e.g. localhost:5000/team/app:1.0"),
        insecure: bool = typer.Option(
            False, "--insecure", help="plain HTTP; only for registries on localhost, 127.0.0.1 or ::1"
        ),
        platform: str = typer.Option(
            DEFAULT_PLATFORM,
            "--platform",
            help="os/arch or os/arch/variant, when the source must be narrowed to one image",
        ),
    ) -> None:
        """Push SOURCE to DESTINATION; prints the pushed manifest digest.

        Blobs the registry already has are skipped; credentials come from Docker's
        config.json ($DOCKER_CONFIG or ~/.docker).
        """
        from keelwatch.oci.push import push_image

        result = push_image(source, destination, insecure=insecure, platform=platform)
        typer.echo(
            f"pushed {result.reference}: {len(result.uploaded)} blobs uploaded, "
            f"{len(result.skipped)} already present, {len(result.manifests)} manifests",
            err=True,
        )
        typer.echo(result.digest)
