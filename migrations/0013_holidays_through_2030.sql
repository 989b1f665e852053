-- Days that are not business days for settlement (D+N), 2026 through 2030, added to whatever the
-- list already holds (a date staff added is kept). Settlement is counted in São Paulo, where the
-- platform's bank account and Efí operate, so the list is the days banks there do not open:
--   * national holidays (Lei 662/1949 and Lei 6.802/1980): 1 Jan, 21 Apr, 1 May, 7 Sep, 12 Oct,
--     2 Nov, 15 Nov, 25 Dec, and 20 Nov (Consciência Negra, national since Lei 14.759/2023);
--   * Good Friday (Easter − 2), and Carnival Monday and Tuesday (Easter − 48, − 47) and Corpus
--     Christi (Easter + 60): not national holidays by law, but days without banking business on
--     FEBRABAN's bank calendar, as the Central Bank's Pix settlement calendar follows it;
--   * São Paulo city's anniversary (25 Jan, Lei municipal 14.485/2007) and the state's
--     Revolução Constitucionalista (9 Jul, Lei estadual 9.497/1997).
-- Easter: 2026-04-05, 2027-03-28, 2028-04-16, 2029-04-01, 2030-04-21. The ledger check warns
-- when the list reaches less than a year ahead; extend it through PUT /v1/admin/settlement-config.
UPDATE settlement_config
   SET holidays = (
     SELECT json_group_array(day) FROM (
       SELECT value AS day FROM json_each(settlement_config.holidays)
       UNION
       SELECT value FROM json_each('["2026-01-01","2026-01-25","2026-02-16","2026-02-17","2026-04-03","2026-04-21","2026-05-01","2026-06-04","2026-07-09","2026-09-07","2026-10-12","2026-11-02","2026-11-15","2026-11-20","2026-12-25","2027-01-01","2027-01-25","2027-02-08","2027-02-09","2027-03-26","2027-04-21","2027-05-01","2027-05-27","2027-07-09","2027-09-07","2027-10-12","2027-11-02","2027-11-15","2027-11-20","2027-12-25","2028-01-01","2028-01-25","2028-02-28","2028-02-29","2028-04-14","2028-04-21","2028-05-01","2028-06-15","2028-07-09","2028-09-07","2028-10-12","2028-11-02","2028-11-15","2028-11-20","2028-12-25","2029-01-01","2029-01-25","2029-02-12","2029-02-13","2029-03-30","2029-04-21","2029-05-01","2029-05-31","2029-07-09","2029-09-07","2029-10-12","2029-11-02","2029-11-15","2029-11-20","2029-12-25","2030-01-01","2030-01-25","2030-03-04","2030-03-05","2030-04-19","2030-04-21","2030-05-01","2030-06-20","2030-07-09","2030-09-07","2030-10-12","2030-11-02","2030-11-15","2030-11-20","2030-12-25"]')
       ORDER BY day))
 WHERE id = 1;
