"""A tiny in-memory catalog standing in for bot/i18n.py in engine tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.engine.text import Translator

# msgid → translation, or (singular, plural) for plural messages.
Catalog = Mapping[str, str | tuple[str, str]]


@dataclass(frozen=True)
class CatalogTranslator:
    """Looks texts up in a catalog; plural forms by the French rule (0 and 1 are singular)."""

    language: str
    catalog: Catalog = field(default_factory=dict)

    def gettext(self, msgid: str) -> str:
        """The translation, or the English source when there is none."""
        found = self.catalog.get(msgid)
        return found if isinstance(found, str) else msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form for n."""
        found = self.catalog.get(singular)
        forms = found if isinstance(found, tuple) else (singular, plural)
        one = n <= 1 if self.language == "fr" else n == 1
        return forms[0] if one else forms[1]


@dataclass(frozen=True)
class CatalogTranslations:
    """Translations from per-language catalogs."""

    catalogs: Mapping[str, Catalog]

    def translator(self, language: str) -> Translator:
        """A translator for `language` (English source for unknown languages)."""
        return CatalogTranslator(language, self.catalogs.get(language, {}))


FRENCH: Catalog = {
    "Which language do you prefer?": "Quelle langue préférez-vous ?",
    "What name would you like us to use?": "Quel prénom voulez-vous que nous utilisions ?",
    "How many weeks ago did you leave, {first_name}?": (
        "Il y a combien de semaines êtes-vous parti·e, {first_name} ?"
    ),
    "So that was {count} week ago.": (
        "C'était donc il y a {count} semaine.",
        "C'était donc il y a {count} semaines.",
    ),
    "What is your postcode?": "Quel est votre code postal ?",
    "Are you interested in VAE?": "La VAE vous intéresse-t-elle ?",
    "Which day suits you for a weekly message?": "Quel jour vous convient pour un message ?",
    "Monday": "Lundi",
    "Wednesday": "Mercredi",
    "Saturday": "Samedi",
    "Thank you {first_name}. See you on {checkin_day}.": "Merci {first_name}. À bientôt.",
    "no, nothing, no thanks, thanks": "non, rien, rien du tout, non merci, merci, ça va",
    "Sorry, I did not understand. Please answer yes or no.": (
        "Désolé, je n'ai pas compris. Répondez oui ou non."
    ),
}

TRANSLATIONS = CatalogTranslations({"fr": FRENCH})
