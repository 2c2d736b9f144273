"""The production-readiness rules, one pure function per module, each module named after its rule id
(``PRR-Lambda-NoInternetPath`` is ``lambda_no_internet_path``). A rule takes the L1 resource (and the
``Policy`` it measures against) and returns compliant, non-compliant or not applicable; the pack
(``strongroom.prr.pack``) holds each rule's level and text."""
