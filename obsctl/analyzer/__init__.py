"""The incident analyzer (issue 15): P1/P2 alert -> evidence -> LLM or deterministic analysis -> Discord.

``app`` (FastAPI webhook, /metrics) -> ``incidents.store.WorkQueue`` (persistent) -> ``service``
(worker: dedupe, ``evidence``, ``llm`` chain, ``render`` to Discord). ``wiring.build`` assembles it
from :class:`obsctl.analyzer.config.Settings`.
"""
