"""Data of the regression suite: question sets, floors, the generalization documents.

The code that reads them is ``briefsearch.evaluation``.
"""
