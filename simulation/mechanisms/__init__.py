"""The model's mechanisms: one module each, one ``step()`` entry point each.

The order in which the model calls them is written in :meth:`CoercionModel.step`.
"""
