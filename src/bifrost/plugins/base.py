"""What a plugin implements: `pre` and `post` hooks (see bifrost.engine.pipeline for semantics).

Re-exported here so a plugin author imports from one place:

    class MyPlugin:
        name = "my-plugin"
        async def pre(self, req, ctx): return req            # or ShortCircuit(response_or_error)
        async def post(self, result, ctx): return result
"""

from bifrost.engine.pipeline import Plugin, RequestContext, Result, ShortCircuit

__all__ = ["Plugin", "RequestContext", "Result", "ShortCircuit"]
