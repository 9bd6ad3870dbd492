"""One module per measured system; each defines ``Driver`` and ``versions()``.

Drivers import only their own library (plus numpy), because the official integrations
run in separate venvs. The shared shape of a driver is :class:`contract.Driver`.
"""
