"""Practice across sessions: progress over time, single-step drills, and time-boxing.

Driver-agnostic: the terminal (agent/chat.py) and any other front end use these through
:class:`agent.engine.Session` and the store; nothing here prints or reads a terminal.
"""
