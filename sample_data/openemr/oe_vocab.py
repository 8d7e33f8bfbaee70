"""Code sets of the generated OpenEMR practice: list options, clinical codes, names, places.

The list option ids are OpenEMR's own (``list_options`` of OpenEMR 7/8, with their ``notes``
and ``codes`` columns), so a mapping pack written against this practice reads a real install
the same way.  Clinical codes are real: ICD-10-CM (and ICD-9-CM for problems recorded before
October 2015, as old installs hold them), SNOMED CT, RxNorm, CVX/MVX and LOINC, with the
descriptions and units that Synthea and US labs use.  Every person and address is invented.
"""

from __future__ import annotations

from typing import NamedTuple

# (list_id, option_id, title, seq, notes, codes)
ListOption = tuple[str, str, str, int, str, str]

LIST_OPTIONS: tuple[ListOption, ...] = (
    ("sex", "Female", "Female", 1, "", ""),
    ("sex", "Male", "Male", 2, "", ""),
    ("sex", "UNK", "Unknown", 3, "", ""),
    ("titles", "Mr.", "Mr.", 1, "", ""),
    ("titles", "Mrs.", "Mrs.", 2, "", ""),
    ("titles", "Ms.", "Ms.", 3, "", ""),
    ("titles", "Dr.", "Dr.", 4, "", ""),
    ("marital", "married", "Married", 1, "M", ""),
    ("marital", "single", "Single", 2, "S", ""),
    ("marital", "divorced", "Divorced", 3, "D", ""),
    ("marital", "widowed", "Widowed", 4, "W", ""),
    # race: notes hold the CDC Race & Ethnicity code; OpenEMR 8 renamed the old misspelled
    # 'declne_to_specfy' of this list to 'decline_to_specify'.
    ("race", "decline_to_specify", "Declined To Specify", 0, "", ""),
    ("race", "amer_ind_or_alaska_native", "American Indian or Alaska Native", 10, "1002-5", ""),
    ("race", "Asian", "Asian", 20, "2028-9", ""),
    ("race", "black_or_afri_amer", "Black or African American", 30, "2054-5", ""),
    ("race", "native_hawai_or_pac_island", "Native Hawaiian or Other Pacific Islander", 40,
     "2076-8", ""),
    ("race", "white", "White", 50, "2106-3", ""),
    # ethnicity kept the historical misspelled id (the OpenEMR 8 rename did not touch it)
    ("ethnicity", "declne_to_specfy", "Declined To Specify", 0, "", ""),
    ("ethnicity", "hisp_or_latin", "Hispanic or Latino", 10, "2135-2", ""),
    ("ethnicity", "not_hisp_or_latin", "Not Hispanic or Latino", 20, "2186-5", ""),
    ("language", "decline_to_specify", "Declined To Specify", 0, "", ""),
    ("language", "chinese", "Chinese", 90, "zho", ""),
    ("language", "English", "English", 440, "eng", ""),
    ("language", "Spanish", "Spanish", 1230, "spa", ""),
    ("language", "vietnamese", "Vietnamese", 1390, "vie", ""),
    ("reaction", "unassigned", "Unassigned", 0, "", ""),
    ("reaction", "hives", "Hives", 10, "", "SNOMED-CT:247472004"),
    ("reaction", "nausea", "Nausea", 20, "", "SNOMED-CT:422587007"),
    ("reaction", "shortness_of_breath", "Shortness of Breath", 40, "", "SNOMED-CT:267036007"),
    ("severity_ccda", "unassigned", "Unassigned", 10, "", ""),
    ("severity_ccda", "mild", "Mild", 20, "", "SNOMED-CT:255604002"),
    ("severity_ccda", "mild_to_moderate", "Mild to moderate", 30, "", "SNOMED-CT:371923003"),
    ("severity_ccda", "moderate", "Moderate", 40, "", "SNOMED-CT:6736007"),
    ("severity_ccda", "moderate_to_severe", "Moderate to severe", 50, "",
     "SNOMED-CT:371924009"),
    ("severity_ccda", "severe", "Severe", 60, "", "SNOMED-CT:24484000"),
    ("severity_ccda", "life_threatening_severity", "Life threatening severity", 70, "",
     "SNOMED-CT:442452003"),
    ("severity_ccda", "fatal", "Fatal", 80, "", "SNOMED-CT:399166001"),
    ("outcome", "0", "Unassigned", 2, "", ""),
    ("outcome", "1", "Resolved", 5, "", ""),
    ("outcome", "2", "Improved", 10, "", ""),
    ("outcome", "3", "Status quo", 15, "", ""),
    ("outcome", "4", "Worse", 20, "", ""),
    ("outcome", "5", "Pending followup", 25, "", ""),
    ("condition-verification", "unconfirmed", "Unconfirmed", 10, "", ""),
    ("condition-verification", "provisional", "Provisional", 20, "", ""),
    ("condition-verification", "differential", "Differential", 30, "", ""),
    ("condition-verification", "confirmed", "Confirmed", 40, "", ""),
    ("condition-verification", "refuted", "Refuted", 50, "", ""),
    ("condition-verification", "entered-in-error", "Entered in Error", 60, "", ""),
    ("allergyintolerance-verification", "unconfirmed", "Unconfirmed", 10, "", ""),
    ("allergyintolerance-verification", "confirmed", "Confirmed", 20, "", ""),
    ("allergyintolerance-verification", "refuted", "Refuted", 30, "", ""),
    ("allergyintolerance-verification", "entered-in-error", "Entered in Error", 40, "", ""),
    ("drug_route", "1", "Per Oris", 1, "PO", "NCI-CONCEPT-ID:C38288"),
    ("drug_route", "inhale", "Inhale", 16, "RESPIR", "NCI-CONCEPT-ID:C38216"),
    ("drug_route", "intramuscular", "Intramuscular", 20, "IM", "NCI-CONCEPT-ID:C28161"),
    ("drug_form", "2", "tablet", 2, "", "NCI-CONCEPT-ID:C42998"),
    ("drug_form", "3", "capsule", 3, "", "NCI-CONCEPT-ID:C25158"),
    ("drug_form", "8", "inhalations", 8, "", "NCI-CONCEPT-ID:C42944"),
    ("drug_units", "1", "mg", 1, "", "NCI-CONCEPT-ID:C28253"),
    ("drug_units", "7", "mcg", 7, "", ""),
    ("drug_interval", "1", "b.i.d.", 1, "", ""),
    ("drug_interval", "2", "t.i.d.", 2, "", ""),
    ("drug_interval", "9", "q.d.", 9, "", ""),
    ("drug_interval", "17", "p.r.n.", 17, "", ""),
    ("Immunization_Manufacturer", "MBL", "Massachusetts Biologic Laboratories", 370, "MBL", ""),
    ("Immunization_Manufacturer", "MSD", "Merck and Co., Inc.", 400, "MSD", ""),
    ("Immunization_Manufacturer", "PFR", "Pfizer, Inc", 520, "PFR", ""),
    ("Immunization_Manufacturer", "PMC", "sanofi pasteur", 560, "PMC", ""),
    ("Immunization_Manufacturer", "SKB", "GlaxoSmithKline", 270, "SKB", ""),
    ("Immunization_Completion_Status", "Completed", "completed", 10, "CP", ""),
    ("Immunization_Completion_Status", "Refused", "Refused", 20, "RE", ""),
    ("immunization_administered_site", "left_arm", "Left Arm", 20, "LA", ""),
    ("immunization_administered_site", "left_deltoid", "Left Deltoid", 30, "LD", ""),
    ("immunization_administered_site", "right_arm", "Right Arm", 60, "RA", ""),
    ("immunization_administered_site", "right_deltoid", "Right Deltoid", 70, "RD", ""),
    ("sub_relation", "self", "Self", 1, "", ""),
    ("sub_relation", "spouse", "Spouse", 2, "", ""),
    ("sub_relation", "child", "Child", 3, "", ""),
    ("sub_relation", "other", "Other", 4, "", ""),
    ("proc_res_abnormal", "no", "No", 10, "", ""),
    ("proc_res_abnormal", "yes", "Yes", 20, "", ""),
    ("proc_res_abnormal", "high", "High", 30, "", ""),
    ("proc_res_abnormal", "low", "Low", 40, "", ""),
    ("proc_rep_status", "final", "Final", 10, "", ""),
    ("proc_rep_status", "prelim", "Preliminary", 20, "", ""),
    ("proc_res_status", "final", "Final", 10, "", ""),
    ("proc_res_status", "prelim", "Preliminary", 20, "", ""),
    ("proc_res_status", "cancel", "Canceled", 30, "", ""),
    ("ord_priority", "normal", "Normal", 10, "", ""),
    ("ord_priority", "high", "High", 20, "", ""),
    ("ord_status", "pending", "Pending", 10, "", ""),
    ("ord_status", "complete", "Complete", 30, "", ""),
    ("_ActEncounterCode", "AMB", "ambulatory", 10, "", ""),
    ("_ActEncounterCode", "EMER", "emergency", 20, "", ""),
    ("_ActEncounterCode", "IMP", "inpatient encounter", 40, "", ""),
)

# (race, ethnicity, language) combinations and their weights in the practice
BACKGROUNDS: tuple[tuple[tuple[str, str, str], int], ...] = (
    (("white", "not_hisp_or_latin", "English"), 40),
    (("black_or_afri_amer", "not_hisp_or_latin", "English"), 14),
    (("white", "hisp_or_latin", "Spanish"), 6),
    (("white", "hisp_or_latin", "English"), 5),
    (("black_or_afri_amer", "hisp_or_latin", "Spanish"), 2),
    (("Asian", "not_hisp_or_latin", "vietnamese"), 4),
    (("Asian", "not_hisp_or_latin", "chinese"), 4),
    (("Asian", "not_hisp_or_latin", "English"), 5),
    (("amer_ind_or_alaska_native", "not_hisp_or_latin", "English"), 3),
    (("native_hawai_or_pac_island", "not_hisp_or_latin", "English"), 2),
    (("decline_to_specify", "declne_to_specfy", "English"), 5),
    (("decline_to_specify", "hisp_or_latin", "Spanish"), 2),
    (("white", "declne_to_specfy", "English"), 3),
)


class Condition(NamedTuple):
    """A problem-list entry: title and OpenEMR ``lists.diagnosis`` codes."""

    key: str
    title: str
    icd10: str
    snomed: str
    icd9: str
    """ICD-9-CM code for entries made before 2015-10-01 ('' when none applies)."""
    drugs: tuple[str, ...]
    labs: tuple[str, ...]


CHRONIC_CONDITIONS: tuple[Condition, ...] = (
    Condition("htn", "Essential hypertension", "I10", "59621000", "401.9",
              ("lisinopril", "amlodipine", "hctz"), ("bmp",)),
    Condition("t2dm", "Type 2 diabetes mellitus without complications", "E11.9", "44054006",
              "250.00", ("metformin",), ("a1c", "bmp")),
    Condition("hld", "Hyperlipidemia", "E78.5", "55822004", "272.4",
              ("simvastatin", "atorvastatin"), ("lipid",)),
    Condition("prediabetes", "Prediabetes", "R73.03", "15777000", "790.29", (), ("a1c",)),
    Condition("asthma", "Asthma", "J45.909", "195967001", "493.90",
              ("albuterol", "fluticasone"), ()),
    Condition("hypothyroid", "Hypothyroidism", "E03.9", "40930008", "244.9",
              ("levothyroxine",), ("tsh",)),
    Condition("obesity", "Obesity", "E66.9", "414916001", "278.00", (), ()),
    Condition("anemia", "Anemia", "D64.9", "271737000", "285.9", ("ferrous",), ("cbc",)),
)

ACUTE_CONDITIONS: tuple[Condition, ...] = (
    Condition("sinusitis", "Viral sinusitis", "J01.90", "444814009", "461.9", ("acetaminophen",),
              ()),
    Condition("bronchitis", "Acute bronchitis", "J20.9", "10509002", "466.0", ("acetaminophen",),
              ()),
    Condition("strep", "Streptococcal sore throat", "J02.0", "43878008", "034.0", ("penicillin_v",),
              ("cbc",)),
    Condition("cystitis", "Acute cystitis", "N30.00", "307426000", "595.0", ("cephalexin",), ()),
    Condition("ankle", "Sprain of ankle", "S93.409A", "44465007", "845.00", ("naproxen",), ()),
    Condition("otitis", "Otitis media", "H66.90", "65363002", "382.9", ("amox_clav",), ()),
    Condition("covid", "COVID-19", "U07.1", "840539006", "", ("acetaminophen",), ()),
)

ACUTE_REASONS = {
    "sinusitis": "Sinus pressure and congestion for 10 days",
    "bronchitis": "Cough for 2 weeks",
    "strep": "Sore throat and fever",
    "cystitis": "Burning on urination",
    "ankle": "Twisted ankle playing basketball",
    "otitis": "Ear pain",
    "covid": "Fever and cough, positive home COVID test",
}


class Drug(NamedTuple):
    """A prescribable drug: RxNorm SCD and the OpenEMR prescription form fields."""

    key: str
    rxnorm: str
    name: str
    size: str
    unit: int
    form: int
    route: str
    interval: int
    dosage: str
    quantity: str
    instructions: str
    chronic: bool


DRUGS: dict[str, Drug] = {d.key: d for d in (
    Drug("lisinopril", "314076", "lisinopril 10 MG Oral Tablet", "10", 1, 2, "1", 9, "1", "90",
         "Take 1 tablet by mouth once daily", True),
    Drug("amlodipine", "197361", "amlodipine 5 MG Oral Tablet", "5", 1, 2, "1", 9, "1", "90",
         "Take 1 tablet by mouth once daily", True),
    Drug("hctz", "310798", "hydrochlorothiazide 25 MG Oral Tablet", "25", 1, 2, "1", 9, "1",
         "90", "Take 1 tablet by mouth every morning", True),
    Drug("metformin", "860975",
         "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "500", 1, 2, "1",
         1, "1", "180", "Take 1 tablet by mouth twice daily with meals", True),
    Drug("simvastatin", "314231", "Simvastatin 10 MG Oral Tablet", "10", 1, 2, "1", 9, "1",
         "90", "Take 1 tablet by mouth at bedtime", True),
    Drug("atorvastatin", "259255", "atorvastatin 80 MG Oral Tablet", "80", 1, 2, "1", 9, "1",
         "90", "Take 1 tablet by mouth once daily", True),
    Drug("albuterol", "745679",
         "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "0.09", 1, 8, "inhale",
         17, "2", "1", "Inhale 2 puffs every 4 to 6 hours as needed for wheezing", True),
    Drug("fluticasone", "895994",
         "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "0.044", 1,
         8, "inhale", 1, "2", "1", "Inhale 2 puffs twice daily", True),
    Drug("levothyroxine", "966222", "Levothyroxine Sodium 0.075 MG Oral Tablet", "75", 7, 2,
         "1", 9, "1", "90", "Take 1 tablet by mouth every morning before breakfast", True),
    Drug("ferrous", "310325", "ferrous sulfate 325 MG Oral Tablet", "325", 1, 2, "1", 9, "1",
         "30", "Take 1 tablet by mouth once daily", True),
    Drug("acetaminophen", "313782", "Acetaminophen 325 MG Oral Tablet", "325", 1, 2, "1", 17,
         "2", "40", "Take 2 tablets by mouth every 6 hours as needed for fever or pain", False),
    Drug("penicillin_v", "834061", "Penicillin V Potassium 250 MG Oral Tablet", "250", 1, 2,
         "1", 2, "1", "30", "Take 1 tablet by mouth three times daily for 10 days", False),
    Drug("cephalexin", "197454", "cephalexin 500 MG Oral Tablet", "500", 1, 2, "1", 1, "1",
         "14", "Take 1 tablet by mouth twice daily for 7 days", False),
    Drug("naproxen", "849574", "Naproxen sodium 220 MG Oral Tablet", "220", 1, 2, "1", 1, "1",
         "20", "Take 1 tablet by mouth twice daily with food", False),
    Drug("amox_clav", "562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", "250", 1,
         2, "1", 2, "1", "30", "Take 1 tablet by mouth three times daily for 10 days", False),
)}

# patient-reported medications on the medication list, never prescribed here
OTC_MEDICATIONS = (("Aspirin 81 MG Oral Tablet", "RXNORM:243670"),
                   ("Multivitamin", ""),
                   ("Fish oil 1000 mg", ""))

# (title, lists.diagnosis) - RxNorm ingredients or SNOMED CT substances; '' = free text
ALLERGENS: tuple[tuple[str, str], ...] = (
    ("Penicillin", "RXNORM:7980"),
    ("Sulfamethoxazole / Trimethoprim", "RXNORM:10831"),
    ("Aspirin", "RXNORM:1191"),
    ("Codeine", "RXNORM:2670"),
    ("Eggs", "SNOMED-CT:102263004"),
    ("Fish", "SNOMED-CT:735971005"),
    ("Peanut", "SNOMED-CT:762952008"),
    ("Animal dander", "SNOMED-CT:264287008"),
    ("Tree pollen", "SNOMED-CT:782576004"),
    ("Latex", "SNOMED-CT:111088007"),
    ("Adhesive tape", ""),
)


class Vaccine(NamedTuple):
    """A vaccine given in the office: CVX code, MVX manufacturers, dose in mL."""

    cvx: str
    name: str
    manufacturers: tuple[str, ...]
    amount: float


VACCINES: dict[str, Vaccine] = {
    "flu": Vaccine("140", "Influenza, seasonal, injectable, preservative free", ("SKB", "PMC"),
                   0.5),
    "covid": Vaccine("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose", ("PFR",), 0.3),
    "td": Vaccine("113", "Td (adult), 5 Lf tetanus toxoid, preservative free, adsorbed",
                  ("MBL", "PMC"), 0.5),
    "tdap": Vaccine("115", "Tdap", ("SKB", "PMC"), 0.5),
    "pcv13": Vaccine("133", "Pneumococcal conjugate PCV 13", ("PFR",), 0.5),
    "ppsv23": Vaccine("33", "pneumococcal polysaccharide PPV23", ("MSD",), 0.5),
    "shingrix": Vaccine("187", "zoster vaccine recombinant", ("SKB",), 0.5),
    "hpv": Vaccine("62", "HPV, quadrivalent", ("MSD",), 0.5),
}


class Analyte(NamedTuple):
    """One discrete lab result: LOINC, text, UCUM-ish units, reference range and spread."""

    loinc: str
    text: str
    units: str
    low: float | None
    high: float | None
    range: str
    mean: float
    sd: float
    decimals: int


class Panel(NamedTuple):
    """An orderable lab test (procedure_order_code) and the results it reports."""

    key: str
    loinc: str
    name: str
    analytes: tuple[Analyte, ...]


LAB_PANELS: dict[str, Panel] = {p.key: p for p in (
    Panel("bmp", "51990-0", "Basic metabolic panel - Blood", (
        Analyte("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 70, 99, "70-99", 96, 14,
                0),
        Analyte("6299-2", "Urea nitrogen [Mass/volume] in Blood", "mg/dL", 7, 20, "7-20", 14,
                4, 0),
        Analyte("38483-4", "Creatinine [Mass/volume] in Blood", "mg/dL", 0.6, 1.3, "0.6-1.3",
                0.95, 0.2, 2),
        Analyte("49765-1", "Calcium [Mass/volume] in Blood", "mg/dL", 8.6, 10.3, "8.6-10.3",
                9.4, 0.4, 1),
        Analyte("2947-0", "Sodium [Moles/volume] in Blood", "mmol/L", 136, 145, "136-145", 140,
                2.5, 0),
        Analyte("6298-4", "Potassium [Moles/volume] in Blood", "mmol/L", 3.5, 5.1, "3.5-5.1",
                4.2, 0.35, 1),
        Analyte("2069-3", "Chloride [Moles/volume] in Blood", "mmol/L", 98, 107, "98-107", 103,
                2.5, 0),
        Analyte("20565-8", "Carbon dioxide, total [Moles/volume] in Blood", "mmol/L", 22, 29,
                "22-29", 26, 2, 0),
    )),
    Panel("lipid", "57698-3", "Lipid panel with direct LDL - Serum or Plasma", (
        Analyte("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", None, 200,
                "<200", 192, 32, 0),
        Analyte("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", None, 150,
                "<150", 140, 45, 0),
        Analyte("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 40,
                None, ">40", 52, 11, 0),
        Analyte("18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct "
                "assay", "mg/dL", None, 100, "<100", 112, 28, 0),
    )),
    Panel("a1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", (
        Analyte("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6,
                "4.0-5.6", 6.1, 0.9, 1),
    )),
    Panel("cbc", "58410-2", "CBC panel - Blood by Automated count", (
        Analyte("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4.5,
                11.0, "4.5-11.0", 7.2, 1.9, 1),
        Analyte("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", 4.2,
                5.9, "4.2-5.9", 4.8, 0.45, 2),
        Analyte("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 17.5, "12.0-17.5",
                14.1, 1.4, 1),
        Analyte("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 36,
                50, "36-50", 42, 3.8, 1),
        Analyte("787-2", "MCV [Entitic volume] by Automated count", "fL", 80, 100, "80-100", 89,
                5, 1),
        Analyte("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150,
                400, "150-400", 260, 60, 0),
    )),
    Panel("tsh", "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", (
        Analyte("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "mIU/L", 0.45, 4.5,
                "0.45-4.50", 2.4, 1.3, 2),
    )),
)}

WELLNESS_REASONS = ("Annual physical exam", "Annual wellness visit", "Routine physical",
                    "Physical for work")
FOLLOW_UP_REASONS = ("Follow-up of {title}", "{title} check", "Medication refill - {title}",
                     "Recheck {title}, review labs")

FEMALE_NAMES = ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan",
                "Jessica", "Sarah", "Karen", "Nancy", "Lisa", "Margaret", "Sandra", "Ashley",
                "Dorothy", "Kimberly", "Emily", "Donna", "Michelle", "María", "Lucía",
                "Thi Lan", "Mei", "Zoë", "Renée", "Aaliyah", "Keisha", "Siobhan", "Noelani")
MALE_NAMES = ("James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph",
              "Thomas", "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark",
              "Donald", "Steven", "Paul", "Andrew", "Joshua", "José", "Luis", "Minh", "Wei",
              "Darnell", "Seán", "Kai", "Tyrone", "Ahanu", "Björn")
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
              "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas",
              "Taylor", "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Tran", "Chen", "Wang",
              "O'Brien", "O'Neill", "McCarthy", "Kowalski", "Van Buren", "Smith-Jones",
              "DeLuca", "Begay", "Kealoha", "Washington", "Okafor", "Schäfer")
PREFERRED_NAMES = {"Elizabeth": "Liz", "Margaret": "Peggy", "Robert": "Bob",
                   "William": "Bill", "Richard": "Rick", "Joseph": "Joe", "Thomas": "Tom",
                   "Christopher": "Chris", "Michael": "Mike", "Jennifer": "Jen",
                   "Kimberly": "Kim", "Patricia": "Trish", "Anthony": "Tony"}
SUFFIXES = ("Jr.", "Sr.", "III")

# (city, postal code, county, state); the practice is in New York's Capital District
PLACES: tuple[tuple[str, str, str, str], ...] = (
    ("Albany", "12203", "Albany", "NY"), ("Albany", "12208", "Albany", "NY"),
    ("Troy", "12180", "Rensselaer", "NY"), ("Schenectady", "12305", "Schenectady", "NY"),
    ("Saratoga Springs", "12866", "Saratoga", "NY"), ("Delmar", "12054", "Albany", "NY"),
    ("Cohoes", "12047", "Albany", "NY"), ("Clifton Park", "12065", "Saratoga", "NY"),
    ("Rensselaer", "12144", "Rensselaer", "NY"), ("Latham", "12110", "Albany", "NY"),
    ("Bennington", "05201", "Bennington", "VT"), ("Pittsfield", "01201", "Berkshire", "MA"),
)
STREETS = ("Maple Ave", "Madison Ave", "Western Ave", "Lark St", "Delaware Ave", "State St",
           "Hudson Ave", "River St", "Union St", "Broadway", "Elm St", "Oak Ridge Dr",
           "Quail St", "Pine Hollow Rd", "Cherry Ln", "Washington Ave")
UNITS = ("Apt 2B", "Apt 14", "Unit 3", "Suite 200", "Apt 1R", "PO Box 112")
OCCUPATIONS = ("Teacher", "Nurse", "Retired", "Electrician", "Student", "Accountant",
               "Software developer", "Cashier", "Truck driver", "State employee", "")
EMPLOYERS = ("State of New York", "Albany Medical Center", "GE Vernova", "Price Chopper",
             "Self-employed", "RPI", "")
