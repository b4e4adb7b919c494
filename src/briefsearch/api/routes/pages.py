"""The browser pages: search at /, document view at /documents/{doc_id}/view (plain HTML, CSS and JS).

They are public: they carry no corpus data, and the API calls they make need the key.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from briefsearch.api.access import GuardedRoute, public

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False, route_class=GuardedRoute)


@router.get("/")
@public
async def search_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/documents/{doc_id}/view")
@public
async def document_page(doc_id: str) -> FileResponse:
    # the page loads /documents/{doc_id} itself and says so when the id is unknown
    return FileResponse(STATIC_DIR / "view.html", media_type="text/html")
