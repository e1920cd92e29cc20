"""PDF from the DOCX by LibreOffice headless (``soffice --headless --convert-to pdf``), run by
the worker in a private profile and folder. Where LibreOffice is absent, PDF reports are
refused up front (422) and DOCX and XLSX still work."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CONVERT_SECONDS = 180


class ConverterMissing(RuntimeError):
    pass


def converter() -> str | None:
    """The LibreOffice program, if installed (Debian: libreoffice-writer-nogui)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx: bytes) -> bytes:
    program = converter()
    if program is None:
        raise ConverterMissing("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="danvan-pdf-") as folder:
        work = Path(folder)
        source = work / "report.docx"
        source.write_bytes(docx)
        # A profile of its own: two conversions at once never share (and lock) one.
        profile = (work / "profile").as_uri()
        subprocess.run(
            [program, f"-env:UserInstallation={profile}", "--headless", "--norestore",
             "--convert-to", "pdf", "--outdir", str(work), str(source)],
            check=True, capture_output=True, timeout=CONVERT_SECONDS)
        return (work / "report.pdf").read_bytes()
