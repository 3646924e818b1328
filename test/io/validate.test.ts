import { strict as assert } from "node:assert";
import {
  ValidationError,
  describe as describeValue,
  finiteNumber,
  fraction,
  integer,
  knownKeys,
  nonNegativeInt,
  nullable,
  oneOf,
  positiveInt,
  positiveNumber,
  problemsOf,
  string,
} from "../../lib/io/validate";

describe("io/validate", () => {
  it("names the place, the expectation and the value in one message shape", () => {
    assert.throws(() => positiveInt(0, "--steps"), /^ValidationError: --steps must be a positive integer, got 0$/);
    assert.throws(() => positiveInt(2.5, "option steps"), /option steps must be a positive integer, got 2\.5/);
    assert.throws(() => positiveInt("3", "x"), /x must be a positive integer, got "3"/);
    assert.throws(() => nonNegativeInt(-1, "patience"), /patience must be a non-negative integer, got -1/);
    assert.throws(() => positiveNumber(NaN, "lr"), /lr must be a number > 0, got NaN/);
    assert.throws(() => positiveNumber(Infinity, "lr"), /lr must be a number > 0, got Infinity/);
    assert.throws(
      () => oneOf("cosine", "schedule", ["constant", "warmup-linear"]),
      /schedule must be one of constant, warmup-linear, got "cosine"/,
    );
    assert.throws(() => string("  ", "name", { nonEmpty: true }), /name must be a non-empty string/);
  });

  it("states ranges with their open and closed ends", () => {
    assert.equal(finiteNumber(0.5, "f", { above: 0, below: 1 }), 0.5);
    assert.throws(() => finiteNumber(1, "f", { above: 0, below: 1 }), /f must be a number in \(0, 1\), got 1/);
    assert.throws(() => fraction(1.5, "devFraction"), /devFraction must be a number in \[0, 1\], got 1\.5/);
    assert.throws(() => integer(11, "k", { min: 1, max: 10 }), /k must be an integer in \[1, 10\], got 11/);
    assert.throws(() => finiteNumber(-2, "clipNorm", { min: 0 }), /clipNorm must be a number >= 0, got -2/);
  });

  it("nullable accepts null and widens the expectation", () => {
    assert.equal(nullable(null, "trainPerClass", positiveInt), null);
    assert.equal(nullable(4, "trainPerClass", positiveInt), 4);
    assert.throws(
      () => nullable(0, "trainPerClass", positiveInt),
      /trainPerClass must be null or a positive integer, got 0/,
    );
  });

  it("knownKeys names the unknown key and the known ones", () => {
    assert.throws(
      () => knownKeys({ stpes: 1 }, ["steps", "lr"], "grid.json cell 2"),
      /grid\.json cell 2: unknown option 'stpes' \(known: steps, lr\)/,
    );
    knownKeys({ steps: 1 }, ["steps", "lr"], "x");
  });

  it("problemsOf collects every failure and rethrows anything that is not a validation failure", () => {
    const problems = problemsOf((p) => {
      p.check(() => positiveInt(0, "a"));
      p.check(() => positiveInt(3, "b"));
      p.check(() => oneOf("z", "c", ["x", "y"]));
      p.add("d: custom");
    });
    assert.deepEqual(problems, ["a must be a positive integer, got 0", 'c must be one of x, y, got "z"', "d: custom"]);
    assert.throws(
      () =>
        problemsOf((p) =>
          p.check(() => {
            throw new TypeError("boom");
          }),
        ),
      TypeError,
    );
    assert.ok(new ValidationError("w", "e", 1) instanceof Error);
  });

  it("describes values briefly", () => {
    assert.equal(describeValue(undefined), "undefined");
    assert.equal(describeValue({ a: 1 }), '{"a":1}');
    assert.equal(describeValue("x".repeat(300)).length, 120);
  });
});
