"""Keyword labels for a piece of caption text: query words, characterization techniques, materials.

Techniques and query words are matched with word-boundary regular expressions
rather than spaCy's PhraseMatcher: captions spell techniques with hyphens and
dashes that tokenizers split unpredictably ("HAADF–STEM", "UV–vis", "EDS/EDX"),
and one compiled pattern per term is both exact and fast (thousands of
captions a second). Materials are chemical formulas whose symbols are real
elements, element names, and material nouns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

DASH = r"[-‐‑–—]?"
# canonical name → spellings (regex fragments, matched case-sensitively unless lowercase)
TECHNIQUES: dict[str, list[str]] = {
    "HAADF-STEM": [rf"HAADF{DASH}STEM", r"high[- ]angle annular dark[- ]field"],
    "BF-STEM": [rf"BF{DASH}STEM"],
    "ABF-STEM": [rf"ABF{DASH}STEM", r"annular bright[- ]field"],
    "STEM": [r"STEM", r"scanning transmission electron microscop\w*"],
    "HRTEM": [rf"HR{DASH}TEM", r"high[- ]resolution TEM", r"high[- ]resolution transmission electron microscop\w*"],
    "TEM": [r"TEM", r"transmission electron microscop\w*"],
    "SEM": [r"SEM", r"FE-?SEM", r"scanning electron microscop\w*"],
    "AFM": [r"AFM", r"atomic force microscop\w*"],
    "STM": [r"STM", r"scanning tunnell?ing microscop\w*"],
    "SAED": [r"SAED", r"selected[- ]area (?:electron )?diffraction"],
    "FFT": [r"FFT", r"fast Fourier transform\w*"],
    "EDS": [r"EDS", r"EDX", r"EDXS", r"energy[- ]dispersive X[- ]ray\w*"],
    "EELS": [r"EELS", r"electron energy[- ]loss spectr\w*"],
    "XRD": [r"XRD", r"X[- ]ray diffraction"],
    "XPS": [r"XPS", r"X[- ]ray photoelectron spectr\w*"],
    "Raman": [r"Raman"],
    "XANES": [r"XANES", r"NEXAFS"],
    "EXAFS": [r"EXAFS"],
    "XAS": [r"XAS", r"X[- ]ray absorption spectr\w*"],
    "FTIR": [r"FT-?IR", r"infrared spectr\w*"],
    "UV-vis": [rf"UV{DASH}(?:vis|Vis|VIS)\w*", r"UV/Vis"],
    "PL": [r"PL", r"photoluminescence"],
    "NMR": [r"NMR"],
    "TGA": [r"TGA", r"thermogravimetr\w*"],
    "BET": [r"BET"],
    "CV": [r"cyclic voltammogra\w*", r"CV curves?"],
    "EIS": [r"EIS", r"impedance spectr\w*", r"Nyquist plots?"],
}
# What each technique is, in words: search expands a caption's acronyms with these, so a query
# phrased in words ("electron diffraction pattern") finds the caption that only says "SAED".
TECHNIQUE_NAMES: dict[str, str] = {
    "HAADF-STEM": "high-angle annular dark-field scanning transmission electron microscopy image",
    "BF-STEM": "bright-field scanning transmission electron microscopy image",
    "ABF-STEM": "annular bright-field scanning transmission electron microscopy image",
    "STEM": "scanning transmission electron microscopy image",
    "HRTEM": "high-resolution transmission electron microscopy image",
    "TEM": "transmission electron microscopy image",
    "SEM": "scanning electron microscopy image",
    "AFM": "atomic force microscopy image",
    "STM": "scanning tunnelling microscopy image",
    "SAED": "selected-area electron diffraction pattern",
    "FFT": "fast Fourier transform, a diffractogram of the lattice",
    "EDS": "energy-dispersive X-ray spectroscopy elemental map or spectrum",
    "EELS": "electron energy-loss spectroscopy spectrum",
    "XRD": "X-ray diffractogram: intensity versus 2θ plot",
    "XPS": "X-ray photoelectron spectroscopy spectrum plot",
    "Raman": "Raman spectroscopy spectrum plot",
    "XANES": "X-ray absorption near-edge structure spectrum plot",
    "EXAFS": "extended X-ray absorption fine structure plot",
    "XAS": "X-ray absorption spectroscopy spectrum plot",
    "FTIR": "Fourier-transform infrared spectroscopy spectrum plot",
    "UV-vis": "ultraviolet-visible absorption spectrum plot",
    "PL": "photoluminescence spectrum plot",
    "NMR": "nuclear magnetic resonance spectrum plot",
    "TGA": "thermogravimetric analysis curve",
    "BET": "nitrogen adsorption isotherm",
    "CV": "cyclic voltammetry curves",
    "EIS": "electrochemical impedance spectroscopy Nyquist plot",
}
# Tried in this order so "HAADF-STEM" claims its text before "STEM" or "TEM" can.
_ORDER = ["HAADF-STEM", "BF-STEM", "ABF-STEM", "HRTEM", "STEM", "TEM"]

ELEMENTS = (  # noqa: SIM905 (a periodic table reads better as text)
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y "
    "Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re "
    "Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr").split()
# Single symbols that are also English words or common abbreviations are not taken alone.
_AMBIGUOUS = {"H", "He", "B", "C", "N", "O", "F", "P", "S", "K", "V", "Y", "I", "U", "W", "In", "As", "At",
              "Be", "Es", "No", "Am", "Po", "Ho", "Pa", "Re", "Ca", "Ga", "Ar", "Er", "Md", "Fm", "Cm"}
# Acronyms that happen to spell element symbols.
_NOT_FORMULAS = {"UV", "BF", "PC", "CV", "IV", "NIR", "IR", "PS", "CS", "HR", "CNS", "PI", "NP", "NPs", "AU"}
ELEMENT_NAMES = {
    "silver": "Ag", "gold": "Au", "platinum": "Pt", "palladium": "Pd", "copper": "Cu", "nickel": "Ni", "iron": "Fe",
    "cobalt": "Co", "titanium": "Ti", "zinc": "Zn", "aluminum": "Al", "aluminium": "Al", "silicon": "Si",
    "carbon": "C", "lithium": "Li", "manganese": "Mn", "cerium": "Ce", "tin": "Sn", "molybdenum": "Mo",
    "tungsten": "W", "vanadium": "V", "chromium": "Cr", "ruthenium": "Ru", "rhodium": "Rh", "iridium": "Ir",
}
MATERIAL_NOUNS = ("graphene", "graphene oxide", "perovskite", "carbon nanotube", "MXene", "zeolite", "spinel",
                  "garnet", "quantum dot", "metal-organic framework", "MOF", "polymer", "oxide", "nanoparticle",
                  "nanorod", "nanowire", "nanosheet", "nanocage", "nanoplate", "nanocrystal", "thin film")

_FORMULA = re.compile(r"(?<![A-Za-z])((?:[A-Z][a-z]?\d*(?:\.\d+)?){1,6}(?:@[A-Za-z0-9]+|[-–][A-Z][a-z]?\d*)*)(?![a-z])")
_SYMBOL = re.compile(r"([A-Z][a-z]?)(\d*(?:\.\d+)?)")


@cache
def _technique_patterns() -> list[tuple[str, re.Pattern[str]]]:
    names = _ORDER + [n for n in TECHNIQUES if n not in _ORDER]
    out = []
    for name in names:
        parts = [p if any(c.isupper() for c in p) else f"(?i:{p})" for p in TECHNIQUES[name]]
        out.append((name, re.compile(r"(?<![A-Za-z])(?:" + "|".join(parts) + r")(?![A-Za-z])")))
    return out


def techniques(text: str) -> list[str]:
    """Characterization techniques the text mentions, canonical names, in vocabulary order."""
    found, taken = [], [False] * len(text)
    for name, pattern in _technique_patterns():
        for m in pattern.finditer(text):
            if not any(taken[m.start():m.end()]):
                if name not in found:
                    found.append(name)
                for i in range(m.start(), m.end()):
                    taken[i] = True
    return found


def _is_formula(token: str) -> bool:
    parts = re.split(r"[@–-]", token)
    symbols = [s for part in parts for s, _ in _SYMBOL.findall(part)]
    if not symbols or any(s not in ELEMENTS for s in symbols):
        return False
    if "".join(s + n for part in parts for s, n in _SYMBOL.findall(part)) != token.replace("@", "").replace(
            "–", "").replace("-", ""):
        return False
    if len(symbols) == 1 and not re.search(r"\d", token):
        return symbols[0] not in _AMBIGUOUS
    return True


def materials(text: str) -> list[str]:
    """Materials the text names: formulas ('Ag2MnO4', 'Ag–Pd', 'Au@SiO2'), elements by name, material nouns."""
    found: list[str] = []
    for m in _FORMULA.finditer(text):
        token = m.group(1)
        if token not in _NOT_FORMULAS and _is_formula(token) and token not in found:
            found.append(token)
    low = text.lower()
    for name, symbol in ELEMENT_NAMES.items():
        if re.search(rf"\b{name}\b", low) and symbol not in found:
            found.append(symbol)
    for noun in MATERIAL_NOUNS:
        if re.search(rf"\b{re.escape(noun.lower())}s?\b", low) and noun not in found:
            found.append(noun)
    return found


def query_keywords(text: str, families: Iterable[tuple[str, ...]]) -> list[str]:
    """The query's keyword families (term first, then synonyms) found in the text; a family is named by its term."""
    low = text.lower()
    out = []
    for words in families:
        for w in words:
            if re.search(rf"(?<![a-z0-9]){re.escape(w.lower())}(?:s|es)?(?![a-z0-9])", low):
                out.append(words[0])
                break
    return out
