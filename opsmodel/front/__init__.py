"""The pages and tools that span the three levels: My work, people, search, health, the map's
export and import, the handbook — and, as they come, the runs dashboard, the inbox and the API.

The front has no models of its own. It sits on top of the levels (`sops`, `processes`,
`systems`) and the base (`opsmodel`): it may use all of them, and none of them uses it
(`tests/test_layers.py` holds that rule).
"""
