def pytest_collection_modifyitems(items):
    """Each fuzzed operation is its own test: its node id names the operation (schemathesis names
    the item, e.g. ``test_...[GET /api/v1/deals/]``, but leaves the id bare), so that a report shows
    which one failed; ``-k "GET and deals"`` reruns it alone."""
    for item in items:
        if type(item).__name__ == "SchemathesisFunction" and item.nodeid != f"{item.parent.nodeid}::{item.name}":
            item._id = type(item._id).parse(f"{item.parent.nodeid}::{item.name}")
