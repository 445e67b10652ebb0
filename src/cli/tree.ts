/** The layer tree of `layers -t`, drawn as containers-storage's tree.go draws it. */

export interface TreeNode {
  left: string;
  right: string;
  notes: string[];
}

const INDENT_STEP = 2;
const STEM_WIDTH = INDENT_STEP - 1;

/** A parent that is nobody's child; the one with the fewest children first, as Go picks. */
function selectRoot(nodes: TreeNode[]): string {
  const children = new Map<string, number>();
  const areChildren = new Set(nodes.map((n) => n.right));
  for (const n of nodes) children.set(n.left, (children.get(n.left) ?? 0) + 1);
  let favorite = '';
  for (const [left, count] of children) {
    if (areChildren.has(left)) continue;
    if (favorite === '' || count < (children.get(favorite) ?? 0)) favorite = left;
  }
  return favorite;
}

function subTree(root: string, nodes: TreeNode[], indent: number, continued: number[], out: string[]): TreeNode[] {
  const children = nodes.filter((n) => n.left === root);
  let leftovers = nodes.filter((n) => n.left !== root);
  children.forEach((child, i) => {
    const pad = [...' '.repeat(indent)];
    for (const column of continued) pad[column] = '\u2502';
    const prefix = pad.join('');
    const more = i < children.length - 1;
    out.push(`${prefix}${more ? '\u251c' : '\u2514'}${'\u2500'.repeat(STEM_WIDTH)}${child.right}\n`);
    for (const note of child.notes) out.push(`${prefix}${more ? '\u2502' : ' '}${' '.repeat(STEM_WIDTH)}${note}\n`);
    leftovers = subTree(child.right, leftovers, indent + INDENT_STEP, more ? [...continued, indent] : continued, out);
  });
  return leftovers;
}

export function printTree(nodes: TreeNode[]): string {
  const out: string[] = [];
  let rest = nodes;
  while (rest.length > 0) {
    const root = selectRoot(rest);
    out.push(`${root}\n`);
    const before = rest.length;
    rest = subTree(root, rest, 0, [], out);
    if (rest.length === before) break;
  }
  return out.join('');
}
