"""The interview graph as ``langgraph dev`` (or LangGraph Platform) serves it: see langgraph.json.

Served with no context of its own, the graph uses the process's defaults (agent/context.py): the
endpoint in INTERVIEWER_BASE_URL / INTERVIEWER_MODEL / INTERVIEWER_API_KEY (the environment, or
``.env`` which langgraph.json loads), offline when none is set. Which one it is goes to the log
when the server loads the graph, and into every interrupt payload (``engine``).
"""

from __future__ import annotations

from agent.cases import default_cases, warn_broken
from agent.context import log, served
from agent.graph import build_graph

default_cases()  # loaded now, not inside the first run (and a broken case file shows here)
warn_broken()
log.warning(served().describe())

#: The graph ``langgraph dev`` serves (langgraph.json: "./agent/serve.py:graph").
graph = build_graph()
