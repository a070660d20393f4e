"""``obsctl analyzer serve``: settings from the environment, the app on uvicorn."""

from __future__ import annotations

import os

from obsctl.errors import EXIT_OK, ObsError


def serve(*, host: str, port: int, log_level: str) -> int:
    try:
        import uvicorn  # noqa: PLC0415

        from obsctl.analyzer.app import create_app  # noqa: PLC0415
    except ImportError as exc:
        raise ObsError(
            f"the analyzer's dependencies are missing ({exc.name})", fix="pip install 'obsctl[analyzer]'"
        ) from None
    from obsctl.analyzer.config import Settings  # noqa: PLC0415
    from obsctl.analyzer.wiring import build  # noqa: PLC0415

    settings = Settings.from_env(os.environ)
    analyzer = build(settings)
    app = create_app(analyzer, token=settings.token, user=settings.user, max_body=settings.max_body)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        analyzer.close()
    return EXIT_OK
