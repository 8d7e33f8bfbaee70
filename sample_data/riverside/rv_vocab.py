"""Vocabularies of the Riverside General Hospital sample (WardBook export): the dictionary
tables' content (diagnoses, procedures, lab items, drugs), the local spellings the export uses,
and the headers of every file. Pure data; `generate.py` draws from it.

The codes are real ICD-10-CM, ICD-10-PCS, LOINC and RxNorm ingredient codes so that the
migrated resources look like a hospital's; every patient and value is invented.
"""

from __future__ import annotations

# File name -> header, in the order the files are written. Real exports mix conventions: some
# files and columns are UPPER case, others lower case.
HEADERS: dict[str, list[str]] = {
    "PATIENTS": ["SUBJECT_ID", "MRN", "LAST_NAME", "FIRST_NAME", "SEX", "DOB", "DOB_MASKED",
                 "DOD", "EXPIRE_FLAG", "ACTIVE_YN"],
    "admissions": ["hadm_id", "subject_id", "admittime", "dischtime", "admission_type",
                   "admission_location", "language", "marital_status", "hospital_expire_flag"],
    "DIAGNOSES_ICD": ["ROW_ID", "SUBJECT_ID", "HADM_ID", "SEQ_NUM", "ICD_CODE", "ICD_VERSION"],
    "procedures": ["row_id", "subject_id", "hadm_id", "seq_num", "icd_code"],
    "PRESCRIPTIONS": ["ROW_ID", "SUBJECT_ID", "HADM_ID", "STARTDATE", "ENDDATE", "DRUG_ID",
                      "DOSE_VAL_RX", "DOSE_UNIT_RX", "ROUTE", "SUBST_OK"],
    "labevents": ["ROW_ID", "SUBJECT_ID", "HADM_ID", "ITEMID", "CHARTTIME", "VALUE", "VALUEUOM",
                  "FLAG"],
    "noteevents": ["row_id", "subject_id", "hadm_id", "chartdate", "category", "description",
                   "iserror", "text"],
    "d_diagnosis": ["icd_code", "long_title"],
    "d_procedure": ["icd_code", "long_title"],
    "D_ITEMS": ["ITEMID", "LABEL", "FLUID", "CATEGORY", "LOINC_CODE"],
    "d_drugs": ["drug_id", "drug", "rxnorm"],
}

# ICD-10-CM without the dot, as the export stores it -> title. (code, title, weight)
DIAGNOSES: list[tuple[str, str, int]] = [
    ("I10", "Essential (primary) hypertension", 10),
    ("E119", "Type 2 diabetes mellitus without complications", 7),
    ("N179", "Acute kidney failure, unspecified", 5),
    ("J189", "Pneumonia, unspecified organism", 5),
    ("I5023", "Acute on chronic systolic (congestive) heart failure", 4),
    ("A419", "Sepsis, unspecified organism", 4),
    ("E785", "Hyperlipidemia, unspecified", 6),
    ("I4891", "Unspecified atrial fibrillation", 5),
    ("J449", "Chronic obstructive pulmonary disease, unspecified", 4),
    ("N390", "Urinary tract infection, site not specified", 4),
    ("E871", "Hypo-osmolality and hyponatremia", 3),
    ("D649", "Anemia, unspecified", 5),
    ("I214", "Non-ST elevation (NSTEMI) myocardial infarction", 3),
    ("K219", "Gastro-esophageal reflux disease without esophagitis", 4),
    ("F329", "Major depressive disorder, single episode, unspecified", 3),
    ("Z794", "Long term (current) use of insulin", 3),
    ("R0602", "Shortness of breath", 3),
]
RETIRED_ICD9 = "4019"
"""An ICD-9 code (unspecified essential hypertension) that is not in d_diagnosis: a planted
defect, the look-up misses."""

# ICD-10-PCS -> title
PROCEDURES: list[tuple[str, str]] = [
    ("5A1955Z", "Respiratory Ventilation, Greater than 96 Consecutive Hours"),
    ("5A1945Z", "Respiratory Ventilation, 24-96 Consecutive Hours"),
    ("0BH17EZ", "Insertion of Endotracheal Airway into Trachea, Via Natural or Artificial "
                "Opening"),
    ("02HV33Z", "Insertion of Infusion Device into Superior Vena Cava, Percutaneous Approach"),
    ("5A1D70Z", "Performance of Urinary Filtration, Intermittent, Less than 6 Hours Per Day"),
    ("02703ZZ", "Dilation of Coronary Artery, One Artery, Percutaneous Approach"),
    ("30233N1", "Transfusion of Nonautologous Red Blood Cells into Peripheral Vein, "
                "Percutaneous Approach"),
    ("0W9930Z", "Drainage of Right Pleural Cavity with Drainage Device, Percutaneous Approach"),
]

# Lab items: itemid, label, fluid, category, LOINC, unit spellings, low, high, decimals
LAB_ITEMS: list[tuple[int, str, str, str, str, list[str], float, float, int]] = [
    (50912, "Creatinine", "Blood", "Chemistry", "2160-0", ["mg/dL", "MG/DL"], 0.5, 4.0, 1),
    (50983, "Sodium", "Blood", "Chemistry", "2951-2", ["mEq/L"], 128, 148, 0),
    (50971, "Potassium", "Blood", "Chemistry", "2823-3", ["mEq/L", "mmol/L"], 3.0, 6.0, 1),
    (50931, "Glucose", "Blood", "Chemistry", "2345-7", ["mg/dL"], 60, 400, 0),
    (51222, "Hemoglobin", "Blood", "Hematology", "718-7", ["g/dL"], 7, 17, 1),
    (51301, "White Blood Cells", "Blood", "Hematology", "6690-2", ["K/uL"], 2, 25, 1),
    (51265, "Platelet Count", "Blood", "Hematology", "777-3", ["K/uL"], 50, 600, 0),
    (50910, "Creatine Kinase (CK)", "Blood", "Chemistry", "2157-6", ["IU/L", "U/L"], 30, 5000,
     0),
    (50963, "NTproBNP", "Blood", "Chemistry", "33762-6", ["pg/mL"], 50, 35000, 0),
    (50813, "Lactate", "Blood", "Blood Gas", "2524-7", ["mmol/L"], 0.5, 8, 1),
]

# Drugs: drug_id, name, RxNorm ingredient, route, dose choices, unit spellings
DRUGS: list[tuple[str, str, str, str, list[str], list[str]]] = [
    ("HEP25I", "Heparin Sodium", "5224", "IV DRIP", ["25,000", "5,000", "1,000"], ["UNITS"]),
    ("INSR100", "Insulin Regular Human", "253182", "SC", ["4", "6", "10"], ["UNIT", "UNITS"]),
    ("METO25", "Metoprolol Tartrate", "6918", "PO", ["12.5", "25", "50"], ["mg", "MG", "mg."]),
    ("FURO40I", "Furosemide", "4603", "IV", ["20", "40", "80"], ["mg", "mg."]),
    ("ACET500", "Acetaminophen", "161", "PO", ["500", "650", "1,000"], ["mg", "MG"]),
    ("VANC1G", "Vancomycin", "11124", "IV", ["1,000", "1,250", "1,500"], ["mg"]),
    ("KCL20", "Potassium Chloride", "8591", "PO", ["20", "40"], ["mEq"]),
    ("FENT50", "Fentanyl Citrate", "4337", "IV", ["25", "50", "100"], ["MCG", "mcg"]),
    ("NOREPI4", "Norepinephrine", "7512", "IV DRIP", ["0.05", "0.1", "0.2"], ["mcg/kg/min"]),
    ("NS1000", "Sodium Chloride 0.9%", "9863", "IV", ["75", "100", "125"], ["mL/h"]),
    ("ATOR40", "Atorvastatin", "83367", "PO", ["20", "40", "80"], ["mg"]),
    ("ENOX40", "Enoxaparin Sodium", "67108", "SC", ["30", "40"], ["mg"]),
    ("PANT40", "Pantoprazole", "40790", "IV", ["40"], ["mg", "MG"]),
    ("CEFT1G", "Ceftriaxone", "2193", "IV", ["1", "2"], ["g", "gm"]),
]
UNKNOWN_DRUG = "XDRUG99"
"""A drug id not in d_drugs (a formulary entry deleted before the export): a planted defect."""

ADMISSION_TYPES = [("EMERGENCY", 6), ("URGENT", 2), ("ELECTIVE", 2), ("EW EMER.", 1)]
ADMISSION_LOCATIONS = ["EMERGENCY ROOM", "PHYSICIAN REFERRAL", "TRANSFER FROM HOSPITAL",
                       "CLINIC REFERRAL"]
# language: (spellings seen on admission rows, weight)
LANGUAGES: list[tuple[list[str], int]] = [
    (["ENGLISH", "English", "english"], 14),
    (["SPANISH", "Spanish", "span"], 3),
    (["PORTUGUESE", "portuguese"], 1),
    (["RUSSIAN", "Russian"], 1),
    (["CHINESE", "chinese"], 1),
]
MARITAL = [(["MARRIED", "married"], 5), (["SINGLE", "single"], 4), (["WIDOWED", "widowed"], 2),
           (["DIVORCED", "Divorced"], 2), (["SEPARATED"], 1)]

NOTE_CATEGORIES = ["Discharge summary", "Nursing", "Physician", "Radiology"]

FAMILY = ["Abernathy", "Blackwood", "Castellano", "Delacroix", "Eastman", "Fairweather",
          "Gallagher", "Hollingsworth", "Ibarra", "Jablonski", "Kowalczyk", "Lindqvist",
          "Montgomery", "Nakamura", "O'Donnell", "Pemberton", "Quintero", "Rasmussen",
          "Sutherland", "Thibodeaux", "Underwood", "Vasquez", "Whitfield", "Yamamoto",
          "Zielinski"]
GIVEN = {"F": ["Adelaide", "Beatriz", "Cordelia", "Dagny", "Eleanor", "Florence", "Greta",
               "Harriet", "Imelda", "Josefina", "Lucinda", "Mathilde", "Odette", "Rosalind"],
         "M": ["Ambrose", "Bartholomew", "Cornelius", "Desmond", "Evander", "Fitzgerald",
               "Gideon", "Horatio", "Ignatius", "Jasper", "Leopold", "Montague", "Octavius",
               "Percival"]}
