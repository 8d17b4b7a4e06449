"""Plot digitizing (Plot2Spectra): axis alignment, curve pixels, curve instances, calibrated series."""

from ingest.spectra.digitize import Digitized, digitize

__all__ = ["Digitized", "digitize"]
