"""HK ACH codes explained for finance staff: what each means for a payroll batch or a payee, and
what to do next.

A batch keeps its group status (RCVD ... RJCT), its group reason code and the bank's event code
(EC004_xxx, EC000_xxx); a payee keeps its item reason code. Sources (hkach_contract.md): the
statuses of §5, the validation and HTTP-level event codes of §6 (FA-EC), the ISO 20022 reason
codes of §6 (ANZ's list, written for NPP; HK usage ⚠️ unconfirmed) and the HK rules of §7 (value
dates Mon-Sat except holidays, 17:55 HKT cut-off, names that must match the account). The bank
gives no staff advice: the next steps are ours, written for a finance team paying salaries.
"""

from __future__ import annotations

from dashboard.providers.guidance import GuidanceTable
from dashboard.providers.guidance import row

_FIX_PAYEE = "Correct the employee's bank details with them, then pay this employee in a new batch."
_FIX_BATCH = "Nothing was paid. Fix the batch and submit it again as a new batch (new batch id)."
_OUR_SIDE = (
    "Nothing was paid. This is a fault in how the back office builds batches: report it to the developers."
)
_ASK_BANK = "Contact the bank's support with the batch's x-Message-Id and x-RequestKey."

#: The batch's and the payee's status (§5).
STATUSES = {
    "RCVD": row("The bank received the batch; it has not checked it yet.", "Nothing to do yet.", act=False),
    "ACTC": row("The bank accepted the batch's format and signatures.", "Nothing to do yet.", act=False),
    "PDNG": row(
        "The batch is waiting for its value date or for clearing.",
        "Nothing to do yet: payees are paid on the value date.",
        act=False,
    ),
    "ACSC": row("Paid: settlement completed for every payee.", "Nothing to do.", act=False),
    "PART": row(
        "Paid in part: some payees were paid, others rejected (each with its own reason).",
        "Look at the rejected payees' reasons, fix their details, and pay them in a new batch.",
    ),
    "RJCT": row(
        "Rejected: nothing in the batch (or this payee) was paid.",
        "Read the reason code; fix what it names and pay in a new batch.",
    ),
}

#: The bank's validation codes (§6, FA-EC): the batch is RJCT and nothing was paid.
VALIDATION = {
    "EC004_101": row("The batch's message id (x-Message-Id) was missing or not a UUID.", _OUR_SIDE),
    "EC004_102": row(
        "The bank already has a batch under this message id.",
        "Do not pay again: read the batch's status; it is the batch sent earlier.",
        act=False,
    ),
    "EC004_103": row(
        "The bank could not decrypt or verify the batch (keys or signature).",
        "Nothing was paid. Check with IT that our signing key and the bank's encryption key are current, "
        "then submit again.",
    ),
    "EC004_104": row("The batch did not match the bank's format.", _OUR_SIDE),
    "EC004_105": row(
        "The bank failed to process the batch on its side.", "Nothing was paid. Submit it again."
    ),
    "EC004_106": row(
        "The batch's creation time was more than 24 hours old or in the future.",
        "Nothing was paid. Check the server clock with IT, then submit again.",
    ),
    "EC004_107": row("More than one payment block in one request.", _OUR_SIDE),
    "EC004_108": row("The batch total (control sum) did not match the payees' amounts.", _OUR_SIDE),
    "EC004_109": row("The batch's count of payees did not match its payees.", _OUR_SIDE),
    "EC004_110": row("The bank could not parse the batch (a field appeared twice).", _OUR_SIDE),
    "EC004_201": row(
        "Our debit account number is not valid for Hong Kong.",
        "Nothing was paid. Check HKACH_DEBTOR_ACCOUNT with the bank, then submit again.",
    ),
    "EC004_202": row(
        "The batch had more than 1,000 payees (or none).",
        "Nothing was paid. Split the batch and submit again.",
    ),
    "EC004_203": row(
        "The batch mixed currencies.", "Nothing was paid. Make one batch per currency and submit again."
    ),
    "EC004_204": row("This batch id was used before.", _FIX_BATCH),
    "EC004_205": row("The batch id is longer than 20 characters.", _FIX_BATCH),
    "EC004_301": row(
        "A payee's proxy id (phone, email) is not valid: HK ACH pays account numbers only.", _OUR_SIDE
    ),
    "EC004_302": row(
        "A currency HK ACH does not carry (only HKD and CNY).",
        "Nothing was paid. Pay other currencies another way (e.g. RTGS/CHATS).",
    ),
    "EC004_303": row("Two payees had the same instruction id.", _OUR_SIDE),
    "EC004_304": row("A payee had both an account and a proxy id.", _OUR_SIDE),
    "EC004_305": row("A payee's instruction id is longer than 20 characters.", _OUR_SIDE),
    "EC004_306": row(
        "A payee's name is missing.", "Nothing was paid. Add the employee's name and submit again."
    ),
}

#: HTTP-level codes (§6, FA-EC general): the request itself was refused.
HTTP_LEVEL = {
    "EC000_001": row(
        "The bank had an internal error; the outcome is unknown.",
        "Do not pay again yet: the back office asks the batch's status and resubmits only if the bank "
        "never received it.",
        act=False,
    ),
    "EC000_002": row("The bank refused our credentials (token, API key or signed assertion).", _ASK_BANK),
    "EC000_003": row("The bank refused the request as invalid.", _OUR_SIDE),
    "EC000_004": row(
        "The bank has no batch under this message id: it never received it.",
        "The back office resubmits it under the same id; nothing was paid.",
        act=False,
    ),
    "EC000_005": row("The bank refused the request method.", _OUR_SIDE),
    "EC000_006": row("The bank refused the request's media type.", _OUR_SIDE),
    "EC000_007": row("The bank could not read the secured payload.", _OUR_SIDE),
}

#: ISO 20022 reason codes on a batch or a payee (§6); the payee was not paid.
REASONS = {
    "AC01": row("The payee's account number has the wrong format.", _FIX_PAYEE),
    "AC02": row("Our debit account number is not valid.", "Check HKACH_DEBTOR_ACCOUNT with the bank."),
    "AC03": row("The payee's account number does not exist at their bank.", _FIX_PAYEE),
    "AC04": row(
        "The payee's account is closed.", "Ask the employee for another account, then pay them again."
    ),
    "AC06": row(
        "The payee's account is blocked.", "Ask the employee to contact their bank or give another account."
    ),
    "AC07": row(
        "The payee's account is closed.", "Ask the employee for another account, then pay them again."
    ),
    "AG01": row(
        "The payee's account cannot receive this payment (its type forbids it).",
        "Ask the employee for a savings or current account, then pay them again.",
    ),
    "AM02": row("The amount is above the allowed maximum.", "Split the payment or pay another way."),
    "AM03": row(
        "The currency is not allowed for HK ACH.", "Pay HKD or CNY only; other currencies another way."
    ),
    "AM04": row(
        "Insufficient funds in our debit account: the whole batch was rejected.",
        "Fund the account, then submit the batch again as a new batch.",
    ),
    "AM05": row("The bank sees this payment as a duplicate.", "Check the batch history before paying again."),
    "AM10": row("The batch total did not match the payees' amounts.", _OUR_SIDE),
    "AM18": row("The batch's count of payees did not match.", _OUR_SIDE),
    "BC01": row("More than one payment block in one request.", _OUR_SIDE),
    "BE01": row(
        "The payee's name does not match the name on the account.",
        "Ask the employee for the exact account name (as on the bank's records), then pay them again.",
    ),
    "BE06": row("The payee is unknown to their bank.", _FIX_PAYEE),
    "BE22": row("A payee's name is missing.", "Add the employee's name and pay them again."),
    "CH16": row("An id is longer than the bank allows.", _OUR_SIDE),
    "DT01": row(
        "Invalid value date: in the past, a Sunday or a Hong Kong public holiday.",
        "Choose a value date Monday to Saturday that is not a holiday, and submit again.",
    ),
    "DT02": row(
        "The batch's creation time was not accepted.", "Check the server clock with IT, then submit again."
    ),
    "DU02": row("This batch id was used before.", _FIX_BATCH),
    "DU05": row("Two payees had the same instruction id.", _OUR_SIDE),
    "RC08": row(
        "The payee's bank or branch code is not a Hong Kong clearing member.",
        "Check the 3-digit bank code and 3-digit branch code with the employee, then pay them again.",
    ),
    "TC01": row("The batch had more than 1,000 payees.", "Split the batch and submit again."),
    "TD03": row("The bank could not read the batch (format, signature or message id).", _OUR_SIDE),
    "TM01": row(
        "Received after the 17:55 HKT cut-off for same-day value.",
        "Submit again with the next working day as the value date.",
    ),
    "NARR": row(
        "Rejected for the reason given in the additional information (e.g. '(AM04) Insufficient funds').",
        "Read the additional information; fix what it names and submit again as a new batch.",
    ),
}

GUIDANCE = GuidanceTable(general={**STATUSES, **VALIDATION, **HTTP_LEVEL, **REASONS})
