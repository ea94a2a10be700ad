"""Deterministic sample projects in the Language export format, with their document texts.

Three generated projects stand in for Microsoft's samples so that no test needs ../shared:
a custom NER project of loan agreements (12 entity categories), a single-label project of
support tickets and a multi-label project of movie summaries. Text comes from templates
and seeded choices, so the same arguments always give the same bytes and labels.

The texts deliberately mix CRLF and LF line endings, non-ASCII letters and astral-plane
emoji (including a ZWJ sequence and a flag), so UTF-16 code units, code points and
grapheme clusters give different offsets. Labels are UTF-16 code units over the exact text,
as in a real export.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContainerClient

PROJECT_FILE_VERSION = "2022-05-01"
STRING_INDEX_TYPE = "Utf16CodeUnit"

NER_CATEGORIES = (
    "Date",
    "BorrowerName",
    "BorrowerAddress",
    "BorrowerCity",
    "BorrowerState",
    "LenderName",
    "LenderAddress",
    "LenderCity",
    "LenderState",
    "LoanAmountWords",
    "LoanAmountNumbers",
    "Interest",
)
TICKET_CLASSES = ("Billing", "TechnicalIssue", "AccountAccess", "Shipping", "Feedback")
GENRES = ("Action", "Comedy", "Drama", "Thriller", "Mystery")


@dataclass(frozen=True)
class SampleProject:
    """An `ExportedProject` body plus the text of every document it names."""

    export: dict[str, Any]
    documents: dict[str, str]

    @property
    def name(self) -> str:
        return str(self.export["metadata"]["projectName"])

    @property
    def container(self) -> str:
        return str(self.export["metadata"]["storageInputContainerName"])

    @property
    def kind(self) -> str:
        return str(self.export["metadata"]["projectKind"])


def utf16_length(text: str) -> int:
    """Length of `text` in UTF-16 code units (an astral character counts twice)."""
    return len(text.encode("utf-16-le")) // 2


class _LabelledText:
    """Builds a document piece by piece, recording labels in UTF-16 code units."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.labels: list[dict[str, Any]] = []

    def add(self, text: str, category: str | None = None) -> None:
        if category is not None:
            self.labels.append({"category": category, "offset": self._length, "length": utf16_length(text)})
        self._parts.append(text)
        self._length += utf16_length(text)

    @property
    def text(self) -> str:
        return "".join(self._parts)


def _dataset(index: int) -> str:
    # Every fifth document is held out, so a manual split always has test documents.
    return "Test" if index % 5 == 4 else "Train"


def _metadata(name: str, container: str, kind: str, description: str) -> dict[str, Any]:
    return {
        "projectKind": kind,
        "storageInputContainerName": container,
        "settings": {},
        "projectName": name,
        "multilingual": False,
        "description": description,
        "language": "en",
    }


# --- custom NER: loan agreements -------------------------------------------------------------

_FIRST_NAMES = (
    "Parker", "Dylan", "José", "Zoë", "Łukasz", "Amélie", "Chen", "Noah", "Søren", "Olivia",
    "Mateo", "Aisha", "Björn", "Hannah", "Renée", "Kwame", "Ingrid", "Lucas", "Małgorzata", "Ethan",
)  # fmt: skip
_LAST_NAMES = (
    "McLean", "Williams", "Núñez", "Fischer", "Kowalski", "Dubois", "Wang", "Okafor", "Jørgensen",
    "Torres", "García", "Müller", "Nakamura", "Brown", "O'Connor", "Haddad", "Svensson", "Rossi",
)  # fmt: skip
_STREETS = (
    "Fusce Rd", "May Street", "Elm Avenue", "Cedar Lane", "Birch Court", "Harbor Way", "Maple Drive",
    "Quarry Road", "Sunset Boulevard", "Rue de la Paix", "Calle Mayor", "Königsallee",
)  # fmt: skip
_CITIES = (
    "Frederick", "Winchester", "Springfield", "Riverside", "Fairview", "Greenville", "Bristol",
    "Clinton", "Georgetown", "Salem", "Madison", "Ashland", "Dover", "Santa Fé",
)  # fmt: skip
_STATES = (
    "Nebraska", "Kentucky", "Ohio", "Oregon", "Texas", "Vermont", "Georgia", "Montana", "Iowa",
    "Nevada", "Maine", "Utah", "Idaho", "Alaska",
)  # fmt: skip
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_PERCENT_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")
_PERCENT_VALUES = (2, 3, 4, 5, 6, 7, 8, 9, 10, 12)
# Astral-plane and multi-code-point graphemes placed before labelled spans, so every
# offset after them differs between UTF-16, code point and grapheme counting.
_HEADER_MARKS = ("📄", "👩‍💼", "🇺🇸", "✍️", "🏠")


def _below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    words: list[str] = []
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if 10 <= rest < 20:
        words.append(_TEENS[rest - 10])
    else:
        tens, ones = divmod(rest, 10)
        if tens and ones:
            words.append(f"{_TENS[tens]}-{_ONES[ones]}")
        elif tens:
            words.append(_TENS[tens])
        elif ones:
            words.append(_ONES[ones])
    return " ".join(words)


def number_in_words(number: int) -> str:
    """English words for 1 ≤ number < 1,000,000 (as the loan agreements write amounts)."""
    thousands, rest = divmod(number, 1000)
    parts = []
    if thousands:
        parts.append(f"{_below_thousand(thousands)} thousand")
    if rest:
        parts.append(_below_thousand(rest))
    return " ".join(parts)


def _project(
    name: str,
    container: str,
    kind: str,
    description: str,
    categories: Sequence[str],
    documents: list[dict[str, Any]],
    texts: dict[str, str],
) -> SampleProject:
    """The export body of a generated project (entities for NER, classes otherwise) and its texts."""
    category_key = "entities" if kind == "CustomEntityRecognition" else "classes"
    export = {
        "projectFileVersion": PROJECT_FILE_VERSION,
        "stringIndexType": STRING_INDEX_TYPE,
        "metadata": _metadata(name, container, kind, description),
        "assets": {
            "projectKind": kind,
            category_key: [{"category": category} for category in categories],
            "documents": documents,
        },
    }
    return SampleProject(export=export, documents=texts)


def _ner_document(rng: random.Random, index: int) -> tuple[str, list[dict[str, Any]]]:
    newline = "\r\n" if index % 3 != 1 else "\n"
    doc = _LabelledText()

    def line(*pieces: tuple[str, str | None]) -> None:
        for text, category in pieces:
            doc.add(text, category)
        doc.add(newline)

    if index % 4 == 0:
        doc.add(f"{_HEADER_MARKS[(index // 4) % len(_HEADER_MARKS)]} ")
    if index % 2 == 0:
        date = f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2015, 2024)}"
        line(("Date ", None), (date, "Date"))
    else:
        date = f"{_MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, {rng.randint(2015, 2024)}"
        line(("Dated ", None), (date, "Date"))
    doc.add(newline)
    line(("This is a Loan agreement between the two parties mentioned below.", None))
    doc.add(newline)
    line(("I. Parties of agreement", None))
    doc.add(newline)
    for role, suffix in (("Borrower", ""), ("Lender", "")):
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
        address = f"{rng.randint(100, 9999)} {rng.choice(_STREETS)}"
        city, state = rng.choice(_CITIES), rng.choice(_STATES)
        closing = f' (the "{role}"){suffix}'
        if rng.random() < 0.5:
            line(
                ("- ", None), (name, f"{role}Name"), (" with a mailing address of ", None),
                (address, f"{role}Address"), (", City of ", None), (city, f"{role}City"),
                (", State of ", None), (state, f"{role}State"), (closing, None),
            )  # fmt: skip
        else:
            line(
                ("- ", None), (name, f"{role}Name"), (", residing at ", None), (address, f"{role}Address"),
                (" in the city of ", None), (city, f"{role}City"), (", ", None), (state, f"{role}State"),
                (closing, None),
            )  # fmt: skip
    doc.add(newline)
    line(("II. Amount", None))
    amount = rng.randint(1000, 999_999)
    line(
        ("The loan amount given by lender to borrower is ", None),
        (f"{number_in_words(amount)} Dollars", "LoanAmountWords"),
        (" (", None),
        (f"${amount:,}.00", "LoanAmountNumbers"),
        (') ("The Note")', None),
    )
    doc.add(newline)
    line(("III. Interest", None))
    percent = rng.randrange(len(_PERCENT_VALUES))
    line(
        ("The Note shall bear interest ", None),
        (f"{_PERCENT_WORDS[percent]} percent ({_PERCENT_VALUES[percent]}%)", "Interest"),
        (" compounded annually.", None),
    )
    doc.add(newline)
    line(("IV. Payment Terms", None))
    doc.add(
        "Any delay in payment is subject to a fine of $50 for every week the payment is delayed. "
        "The borrower is able to pay back the Note in full at any time — no penalty applies."
    )
    return doc.text, doc.labels


def ner_project(
    name: str = "LoanAgreements", container: str = "loans", documents: int = 24, seed: int = 7
) -> SampleProject:
    """A custom NER project of generated loan agreements, one label per category per document."""
    rng = random.Random(f"ner:{seed}")
    texts: dict[str, str] = {}
    assets_documents: list[dict[str, Any]] = []
    for index in range(documents):
        location = f"agreement-{index + 1:03d}.txt"
        text, labels = _ner_document(rng, index)
        texts[location] = text
        assets_documents.append(
            {
                "location": location,
                "language": "en-us",
                "dataset": _dataset(index),
                "entities": [{"regionOffset": 0, "regionLength": utf16_length(text), "labels": labels}],
            }
        )
    return _project(
        name,
        container,
        "CustomEntityRecognition",
        "Generated loan agreements",
        NER_CATEGORIES,
        assets_documents,
        texts,
    )


# --- classification: support tickets and movie summaries ----------------------------------------

_TICKET_PHRASES: dict[str, tuple[str, ...]] = {
    "Billing": (
        "I was charged twice on my last invoice",
        "the refund for my subscription has not arrived",
        "my credit card payment failed but the bill still shows as due",
        "please explain the extra fee on this month's statement",
        "the invoice total does not match the price I was quoted",
        "I want to change my billing address and payment method",
    ),
    "TechnicalIssue": (
        "the app crashes every time I open the settings page",
        "the sync error message keeps appearing after the update",
        "the device will not connect to the wifi network",
        "the software freezes when I export a large file",
        "I get a server timeout when uploading photos",
        "the screen goes black after installing the latest firmware",
    ),
    "AccountAccess": (
        "I cannot log in because my password reset email never arrives",
        "my account is locked after too many sign-in attempts",
        "the two-factor code is rejected when I try to sign in",
        "I forgot my username and cannot recover the account",
        "please unlock my profile so I can access my login again",
        "the verification link for my account has expired",
    ),
    "Shipping": (
        "my parcel has not been delivered and tracking shows no update",
        "the package arrived damaged and the box was crushed",
        "the courier left my order at the wrong address",
        "delivery was promised last week but the shipment is delayed",
        "can I change the shipping address for an order in transit",
        "the tracking number you sent does not work with the carrier",
    ),
    "Feedback": (
        "I love the new design and wanted to say thank you",
        "your support team was wonderful and very helpful",
        "it would be great if you added a dark mode feature",
        "just a suggestion to make the menu easier to read",
        "overall a great experience and I will recommend you",
        "the latest improvement made my day much better",
    ),
}
_TICKET_OPENINGS = ("Hello,", "Hi team,", "Dear support,", "Bonjour,", "Hallo zusammen,", "Hi 👋,")
_TICKET_FILLERS = (
    "I have been a customer for years.",
    "This is the second time I am writing.",
    "Thanks in advance for your help.",
    "Order reference is attached below.",
    "Please get back to me soon — it is urgent.",
    "Kind regards, René 🙂",
    "Sent from my phone 📱",
)

_GENRE_PHRASES: dict[str, tuple[str, ...]] = {
    "Action": (
        "a daring chase through the city ends in an explosion",
        "the hero fights his way out of the burning fortress",
        "a gunfight erupts on the speeding train",
        "the commando squad storms the enemy base",
        "she battles a gang of smugglers on the docks",
    ),
    "Comedy": (
        "a clumsy waiter causes hilarious chaos at the wedding",
        "two bickering roommates trade silly pranks",
        "the family road trip turns into a string of funny mishaps",
        "a talking parrot keeps embarrassing its owner",
        "the awkward hero tells jokes to win the girl",
    ),
    "Drama": (
        "a grieving mother struggles to rebuild her life",
        "the estranged brothers reconcile at their father's funeral",
        "a young teacher fights for her students in a poor town",
        "the marriage slowly falls apart under financial pressure",
        "an aging actor faces the end of his career",
    ),
    "Thriller": (
        "a stalker watches her every move and leaves threatening notes",
        "the agent races against time to stop the bomb",
        "a hostage situation unfolds inside the bank",
        "the conspiracy reaches the highest levels of government",
        "a killer is hunting the witnesses one by one",
    ),
    "Mystery": (
        "the detective examines clues left at the crime scene",
        "a locked room murder puzzles the inspector",
        "the missing heiress leaves behind a coded diary",
        "an old mansion hides a secret about the disappearance",
        "the sleuth interrogates every suspect at the manor",
    ),
}
_MOVIE_SETTINGS = (
    "Set in Paris,", "In a small Alaskan town,", "In São Paulo,", "During a heatwave in Zürich,",
    "On a remote island 🏝️,", "In 1970s Tokyo,", "In a future city,",
)  # fmt: skip


def _ticket_text(rng: random.Random, category: str, index: int) -> str:
    newline = "\r\n" if index % 4 == 0 else "\n"
    phrases = rng.sample(_TICKET_PHRASES[category], 2)
    lines = [
        rng.choice(_TICKET_OPENINGS),
        f"{phrases[0].capitalize()}. {rng.choice(_TICKET_FILLERS)}",
        f"Also, {phrases[1]}.",
        rng.choice(_TICKET_FILLERS),
    ]
    return newline.join(lines)


def _movie_text(rng: random.Random, genres: list[str], index: int) -> str:
    sentences = [f"{rng.choice(_MOVIE_SETTINGS)} {rng.choice(_GENRE_PHRASES[genres[0]])}."]
    for genre in genres:
        for phrase in rng.sample(_GENRE_PHRASES[genre], 2):
            sentences.append(phrase.capitalize() + ".")
    rng.shuffle(sentences)
    text = " ".join(sentences)
    if index % 6 == 0:
        text += "\r\nRated ⭐⭐⭐⭐ by the critics — “a must-see”."
    return text


def single_label_project(
    name: str = "SupportTickets", container: str = "tickets", documents: int = 30, seed: int = 7
) -> SampleProject:
    """A single-label classification project of support tickets (5 classes, round-robin)."""
    rng = random.Random(f"single:{seed}")
    texts: dict[str, str] = {}
    assets_documents: list[dict[str, Any]] = []
    for index in range(documents):
        category = TICKET_CLASSES[index % len(TICKET_CLASSES)]
        location = f"ticket-{index + 1:03d}.txt"
        texts[location] = _ticket_text(rng, category, index)
        assets_documents.append(
            {
                "location": location,
                "language": "en-us",
                "dataset": _dataset(index // len(TICKET_CLASSES) + index),
                "class": {"category": category},
            }
        )
    return _project(
        name,
        container,
        "CustomSingleLabelClassification",
        "Generated support tickets",
        TICKET_CLASSES,
        assets_documents,
        texts,
    )


def multi_label_project(
    name: str = "MovieGenres", container: str = "movies", documents: int = 30, seed: int = 7
) -> SampleProject:
    """A multi-label classification project of movie summaries (1 to 3 of 5 genres each)."""
    rng = random.Random(f"multi:{seed}")
    texts: dict[str, str] = {}
    assets_documents: list[dict[str, Any]] = []
    for index in range(documents):
        # The first genre cycles so every class is represented in train and test.
        first = GENRES[index % len(GENRES)]
        others = [genre for genre in GENRES if genre != first]
        genres = [first, *rng.sample(others, rng.randint(0, 2))]
        location = f"movie-{index + 1:03d}.txt"
        texts[location] = _movie_text(rng, genres, index)
        assets_documents.append(
            {
                "location": location,
                "language": "en-us",
                "dataset": _dataset(index // len(GENRES) + index),
                "classes": [{"category": genre} for genre in sorted(genres, key=GENRES.index)],
            }
        )
    return _project(
        name,
        container,
        "CustomMultiLabelClassification",
        "Generated movie summaries",
        GENRES,
        assets_documents,
        texts,
    )


def upload_documents(container_client: ContainerClient, project: SampleProject) -> None:
    """Upload every document's exact UTF-8 bytes (line endings kept), creating the container if absent."""
    with contextlib.suppress(ResourceExistsError):
        container_client.create_container()
    for location, text in project.documents.items():
        container_client.upload_blob(location, text.encode("utf-8"), overwrite=True)
