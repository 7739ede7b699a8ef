"""A MatterStack observer that appends one JSON line per attempt transition to a file."""
