"""Words patients use for the things the article talks about, by entity label.

Each canonical value maps to the everyday variants that mean it. The canonical
values for `body_site` are the sites the knowledge base answers for. Recognising
a word is not a medical claim: the bot only ever answers with article text.
"""

from __future__ import annotations

BODY_SITE: dict[str, tuple[str, ...]] = {
    "bones": (
        "bone",
        "bones",
        "bony",
        "skeleton",
        "skeletal",
        "spine",
        "backbone",
        "vertebra",
        "vertebrae",
        "hip",
        "hips",
        "rib",
        "ribs",
        "pelvis",
    ),
    "brain": ("brain", "brains", "cerebral"),
    "lungs": ("lung", "lungs", "pulmonary"),
    "liver": ("liver", "hepatic"),
    "lymph nodes": (
        "lymph node",
        "lymph nodes",
        "lymph gland",
        "lymph glands",
        "lymphnode",
        "lymphnodes",
        "lymph-node",
        "lymph-nodes",
        "glands",
        "nodes",
        "node",
    ),
}

_CANCER_KINDS = (
    "breast",
    "lung",
    "colon",
    "colorectal",
    "bowel",
    "rectal",
    "prostate",
    "pancreatic",
    "pancreas",
    "ovarian",
    "kidney",
    "bladder",
    "skin",
    "stomach",
    "thyroid",
    "liver",
    "bone",
    "brain",
    "cervical",
    "uterine",
    "endometrial",
    "esophageal",
    "throat",
    "head and neck",
)
CANCER_TYPE: dict[str, tuple[str, ...]] = {f"{kind} cancer": (f"{kind} cancer",) for kind in _CANCER_KINDS} | {
    "melanoma": ("melanoma",),
    "lymphoma": ("lymphoma",),
    "leukemia": ("leukemia", "leukaemia"),
    "sarcoma": ("sarcoma",),
}

TREATMENT: dict[str, tuple[str, ...]] = {
    "chemotherapy": ("chemotherapy", "chemo"),
    "hormone therapy": ("hormone therapy", "hormonal therapy", "hormone treatment"),
    "immunotherapy": ("immunotherapy", "immuno therapy"),
    "radiation therapy": ("radiation", "radiation therapy", "radiotherapy", "radiation treatment"),
    "surgery": ("surgery", "operation"),
    "systemic therapy": ("systemic therapy", "systemic treatment"),
    "palliative care": ("palliative care", "palliative treatment", "palliative treatments"),
    "clinical trial": ("clinical trial", "clinical trials", "trial", "trials"),
}

SYMPTOM: dict[str, tuple[str, ...]] = {
    "fatigue": ("fatigue", "tiredness", "exhaustion"),
    "weight loss": ("weight loss", "unintentional weight loss", "losing weight"),
    "pain": ("pain", "aches", "ache"),
    "difficulty breathing": ("difficulty breathing", "trouble breathing", "hard to breathe"),
    "shortness of breath": ("shortness of breath", "short of breath", "breathless"),
    "fractures": ("fracture", "fractures", "broken bone", "broken bones"),
    "headaches": ("headache", "headaches"),
    "seizures": ("seizure", "seizures", "fits"),
    "dizziness": ("dizziness", "dizzy"),
    "jaundice": ("jaundice", "yellow skin", "yellow eyes", "yellowing"),
    "abdominal swelling": ("abdominal swelling", "swollen belly", "swollen stomach", "bloated belly"),
}

# Someone the message is about ("my mom", "our son"): the replies then speak of
# "her care team" (bot/messages.py PEOPLE). Only with "my"/"our": "I'm a mom" is not about a mom.
_PEOPLE: dict[str, tuple[str, ...]] = {
    "mother": ("mom", "mum", "mother", "mommy", "mama", "momma"),
    "father": ("dad", "father", "daddy", "papa", "pop"),
    "wife": ("wife",),
    "husband": ("husband", "hubby"),
    "partner": ("partner", "spouse", "boyfriend", "girlfriend", "fiance", "fiancee", "fiancé", "fiancée"),
    "daughter": ("daughter",),
    "son": ("son",),
    "sister": ("sister",),
    "brother": ("brother",),
    "grandmother": ("grandma", "grandmother", "granny", "nana", "grandmom"),
    "grandfather": ("grandpa", "grandfather", "granddad", "grandad"),
    "aunt": ("aunt", "auntie"),
    "uncle": ("uncle",),
    "friend": ("friend", "best friend"),
    "child": ("child", "kid", "baby"),
}
PERSON: dict[str, tuple[str, ...]] = {
    canonical: tuple(f"{owner} {word}" for word in words for owner in ("my", "our"))
    for canonical, words in _PEOPLE.items()
}

VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "body_site": BODY_SITE,
    "cancer_type": CANCER_TYPE,
    "treatment": TREATMENT,
    "symptom": SYMPTOM,
    "person": PERSON,
}
