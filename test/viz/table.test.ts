import { strict as assert } from "node:assert";
import { renderTable, resolveTableOptions, tableData, TableRecord } from "../../lib/viz/table";

describe("viz/table", () => {
  const records: TableRecord[] = [
    { model: "prompt-20", params: 2560, acc: 0.81234, note: null },
    { model: "full <ft>", params: 1200000, acc: 0.9, extra: true },
  ];

  it("collects columns in first-seen order and formats numbers", () => {
    const t = tableData(records);
    assert.deepEqual(t.columns, ["model", "params", "acc", "note", "extra"]);
    assert.deepEqual(t.cells[0], ["prompt-20", "2560", "0.8123", "", ""]);
    assert.deepEqual(t.cells[1], ["full <ft>", "1200000", "0.9000", "", "true"]);
    assert.deepEqual(t.numeric, [false, true, true, false, false]);
    assert.equal(t.totalRows, 2);
  });

  it("renders HTML with escaped cells, right-aligned numeric columns and a caption", () => {
    const { html } = renderTable(records, { title: "A & B", decimals: 2 });
    assert.match(html, /<caption>A &amp; B<\/caption>/);
    assert.match(html, /<td>full &lt;ft&gt;<\/td><td class="num">1200000<\/td><td class="num">0\.90<\/td>/);
    assert.match(html, /<th class="num">acc<\/th>/);
    assert.ok(!html.includes("<ft>"));
  });

  it("renders aligned plain text", () => {
    const { text } = renderTable(
      [
        { a: 1, b: "x" },
        { a: 123.5, b: "longer" },
      ],
      { decimals: 1 },
    );
    assert.equal(text, ["    a  b", "-----  ------", "    1  x", "123.5  longer"].join("\n"));
  });

  it("limits rows and says how many are hidden", () => {
    const rows = Array.from({ length: 7 }, (_, i) => ({ i }));
    const { html, text } = renderTable(rows, { maxRows: 3 });
    assert.equal((html.match(/<tr>/g) ?? []).length, 4); // header + 3 rows
    assert.match(text, /\.\.\. 4 more rows \(7 total\)$/);
    assert.match(html, /\.\.\. 4 more rows \(7 total\)/);
  });

  it("selects and orders columns, naming a missing one", () => {
    assert.deepEqual(tableData(records, { columns: ["acc", "model"] }).cells[0], ["0.8123", "prompt-20"]);
    assert.throws(
      () => tableData(records, { columns: ["loss"] }),
      /column "loss" not found; available: model, params, acc, note, extra/,
    );
  });

  it("applies per-column formatters", () => {
    const t = tableData(records, { formatters: { acc: (v) => `${((v as number) * 100).toFixed(1)}%` } });
    assert.equal(t.cells[0][2], "81.2%");
  });

  it("accepts DataFrame-shaped input and shows a non-default index", () => {
    const frame = {
      columns: ["x", "y"],
      values: [
        [1, 2.5],
        [3, 4.25],
      ],
      index: ["mean", "std"],
    };
    const t = tableData(frame);
    assert.deepEqual(t.columns, ["", "x", "y"]);
    assert.deepEqual(t.cells, [
      ["mean", "1", "2.5000"],
      ["std", "3", "4.2500"],
    ]);
    assert.deepEqual(tableData({ ...frame, index: [0, 1] }).columns, ["x", "y"]);
    assert.deepEqual(tableData(frame, { index: false }).columns, ["x", "y"]);
  });

  it("renders a real danfojs DataFrame", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const dfd = require("danfojs-node");
    const df = new dfd.DataFrame({ name: ["a", "b"], score: [0.5, 0.25] });
    const { text } = renderTable(df);
    assert.equal(text, ["name   score", "----  ------", "a     0.5000", "b     0.2500"].join("\n"));
  });

  it("rejects bad input with the row and what was expected", () => {
    assert.throws(() => tableData([{ a: 1 }, 5 as unknown as TableRecord]), /row 1 is number, expected an object/);
    assert.throws(
      () => tableData({ columns: ["a", "b"], values: [[1, 2], [3]] }),
      /values row 1 has 1 cells, expected 2 \(columns: a, b\)/,
    );
    assert.throws(
      () => tableData({ columns: ["a"], values: [1, 2] }),
      /values row 0 is number, expected an array of 1 cells/,
    );
    assert.throws(() => tableData("nope" as never), /expected an array of records or a DataFrame .* got string/);
  });

  it("validates options with the bad value", () => {
    assert.throws(() => resolveTableOptions({ decimals: -1 }), /decimals must be an integer in 0\.\.20, got -1/);
    assert.throws(() => resolveTableOptions({ maxRows: 0 }), /maxRows must be a positive integer, got 0/);
    assert.equal(resolveTableOptions({}).maxRows, 50);
  });
});
