import assert from "node:assert/strict";
import { parsePosition, positionName, totalLength } from "../../lib/prompt/positions";

describe("prompt positions", () => {
  it("splits a length across slots as evenly as possible, front first", () => {
    assert.deepEqual(parsePosition("front+back", 5), { front: 3, middle: 0, back: 2 });
    assert.deepEqual(
      parsePosition("back+front", 5),
      { front: 3, middle: 0, back: 2 },
      "order of naming does not matter",
    );
    assert.deepEqual(parsePosition("front+middle+back", 7), { front: 3, middle: 2, back: 2 });
    assert.deepEqual(parsePosition("front+middle+back", 3), { front: 1, middle: 1, back: 1 });
    assert.deepEqual(parsePosition("middle+back", 4), { front: 0, middle: 2, back: 2 });
    assert.deepEqual(parsePosition(" back ", 20), { front: 0, middle: 0, back: 20 });
    for (const [pos, n] of [
      ["front+back", 9],
      ["front+middle+back", 11],
    ] as const)
      assert.equal(totalLength(parsePosition(pos, n)), n);
  });

  it("names positions canonically", () => {
    assert.equal(positionName(parsePosition("back+front", 4)), "front+back");
    assert.equal(positionName({ front: 0, middle: 3, back: 0 }), "middle");
  });

  it("refuses unknown, repeated or too-short positions, naming them", () => {
    assert.throws(() => parsePosition("top", 4), /prompt position 'top': 'top' is not one of front, middle, back/);
    assert.throws(() => parsePosition("front+front", 4), /names 'front' twice/);
    assert.throws(
      () => parsePosition("front+middle+back", 2),
      /prompt length 2 is too short to split across front\+middle\+back/,
    );
    assert.throws(() => parsePosition("front", 0), /prompt length must be a positive integer, got 0/);
    assert.throws(() => parsePosition("front", 2.5), /positive integer, got 2.5/);
  });
});
