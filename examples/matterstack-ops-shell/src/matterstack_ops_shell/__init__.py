"""Operator kind ``shell`` for MatterStack: a task's command run by a shell on this machine."""
