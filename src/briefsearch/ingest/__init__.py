"""Reading documents: the corpus manifest and sources, binary formats (.pdf, .docx, .hwpx, .hwp)
in a sandboxed worker.
"""
