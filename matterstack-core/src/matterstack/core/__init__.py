"""The pure model: operator keys, statuses, transitions, tasks, workflows, campaigns.

Nothing here does I/O or imports the store, the orchestrator or a plugin.
"""
