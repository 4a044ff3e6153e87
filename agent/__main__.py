from agent.cli import entry

raise SystemExit(entry())
