"""One function per use case: load -> domain rule -> save -> commit."""
