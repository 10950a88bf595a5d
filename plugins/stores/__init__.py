"""Built-in store backend plugins."""
