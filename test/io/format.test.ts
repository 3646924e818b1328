import { strict as assert } from "node:assert";
import { formatBytes, formatDuration, formatNumber, formatSI, formatValue } from "../../lib/io/format";

describe("io/format", () => {
  it("formatNumber prints integers exactly and other values with fixed decimals", () => {
    assert.equal(formatNumber(42), "42");
    assert.equal(formatNumber(-7), "-7");
    assert.equal(formatNumber(-0), "0");
    assert.equal(formatNumber(20000), "20000");
    assert.equal(formatNumber(0.123456), "0.1235");
    assert.equal(formatNumber(2.3), "2.3000");
    assert.equal(formatNumber(2.3, 1), "2.3");
  });

  it("formatNumber switches to exponent form for tiny and huge values", () => {
    assert.equal(formatNumber(0.00003), "3.0000e-5");
    assert.equal(formatNumber(12345678.9), "1.2346e+7");
    assert.equal(formatNumber(0.001), "0.0010");
    assert.equal(formatNumber(999999.5, 1), "999999.5");
  });

  it("formatNumber names non-finite values and rejects bad decimals", () => {
    assert.equal(formatNumber(NaN), "NaN");
    assert.equal(formatNumber(Infinity), "inf");
    assert.equal(formatNumber(-Infinity), "-inf");
    assert.throws(() => formatNumber(1.5, 2.5), /decimals must be an integer in 0\.\.20, got 2\.5/);
  });

  it("formatSI uses k/M/G suffixes", () => {
    assert.equal(formatSI(950), "950");
    assert.equal(formatSI(12345), "12.3k");
    assert.equal(formatSI(4.2e6), "4.20M");
    assert.equal(formatSI(0.5), "0.500");
    assert.equal(formatSI(-2500), "-2.50k");
    assert.throws(() => formatSI(1, 0), /digits must be an integer in 1\.\.15, got 0/);
  });

  it("formatDuration prints m:ss and h:mm:ss, '?' when unknown", () => {
    assert.equal(formatDuration(0), "0:00");
    assert.equal(formatDuration(75), "1:15");
    assert.equal(formatDuration(3725), "1:02:05");
    assert.equal(formatDuration(59.6), "1:00");
    assert.equal(formatDuration(NaN), "?");
    assert.equal(formatDuration(Infinity), "?");
    assert.equal(formatDuration(-1), "?");
  });

  it("formatBytes uses binary units with one decimal, whole bytes below 1 KiB", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(1023), "1023 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(50 * 1024 * 1024), "50.0 MiB");
    assert.equal(formatBytes(3 * 1024 ** 4), "3.0 TiB");
    assert.equal(formatBytes(-1), "-1");
  });

  it("formatValue handles every cell type", () => {
    assert.equal(formatValue(null), "");
    assert.equal(formatValue(undefined), "");
    assert.equal(formatValue("x"), "x");
    assert.equal(formatValue(true), "true");
    assert.equal(formatValue(10n), "10");
    assert.equal(formatValue(1.23456, 2), "1.23");
    assert.equal(formatValue({ a: [1, 2] }), '{"a":[1,2]}');
    assert.equal(formatValue(new Date(Date.UTC(2020, 0, 2))), "2020-01-02T00:00:00.000Z");
  });
});
