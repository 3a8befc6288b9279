"""Name, nickname and place lists for the synthetic migrant-student generator.

These lists belong to the generator alone: the matcher keeps its own (``features/``), so the
benchmark never grades the matcher against its own knowledge. Lists are ordered from the
commonest to the rarest; the generator draws from them with Zipf-like weights by rank.
"""

from __future__ import annotations

from typing import Final


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    """Drop repeats, keeping the first (most frequent) position."""
    return tuple(dict.fromkeys(names))


# --- Given names -------------------------------------------------------------------------------

MX_MALE: Final = _unique((
    "José Luis", "Juan", "José", "Luis", "Jesús", "Miguel Ángel", "Juan Carlos", "Francisco",
    "Carlos", "Jorge", "José Antonio", "Antonio", "Alejandro", "Juan José", "Miguel", "Ángel",
    "Pedro", "Manuel", "Daniel", "Fernando", "Ricardo", "Eduardo", "Roberto", "Javier",
    "Francisco Javier", "Juan Manuel", "José Manuel", "Rafael", "Martín", "Raúl", "David",
    "Sergio", "Arturo", "Alberto", "Héctor", "Gerardo", "Enrique", "Mario", "Óscar", "Víctor",
    "Guillermo", "Ramón", "Pablo", "Juan Pablo", "Luis Ángel", "Luis Fernando", "Jesús Alberto",
    "José Guadalupe", "José Ángel", "José Alfredo", "Brayan", "Kevin", "Jonathan", "Christopher",
    "Brandon", "Alfredo", "Salvador", "Rubén", "Adrián", "Ignacio", "Gustavo", "Hugo", "Armando",
    "Andrés", "Rodolfo", "Alfonso", "Diego", "Emiliano", "Santiago", "Mateo", "Leonardo",
    "Sebastián", "Ángel Gabriel", "Gabriel", "Isaac", "Josué", "Abraham", "Israel", "Saúl",
    "Édgar", "Iván", "Omar", "Cristian", "Erick", "Alan", "Axel", "Uriel", "Yahir", "Jair",
    "Ernesto", "Octavio", "Lorenzo", "Benjamín", "Samuel", "Ismael", "Esteban", "Joel",
    "Julio César", "César", "Marco Antonio", "Felipe", "Gilberto", "Lázaro", "Rogelio", "Refugio",
    "Everardo", "Eleazar", "Efraín", "Misael", "Tomás", "Noé", "Elías", "Moisés", "Aarón",
    "Emmanuel", "Jesús Manuel", "Carlos Alberto", "José Francisco", "Juan Antonio", "Luis Enrique",
    "Jesús Eduardo", "Fidel", "Rigoberto", "Bernardo", "Santos", "Isidro", "Baltazar", "Jacinto",
    "Aurelio", "Maximiliano", "Dylan", "Johan", "Jared", "Gael", "Iker", "Derek", "Anthony",
    "Rosario", "Guadalupe", "Trinidad",
))

MX_FEMALE: Final = _unique((
    "María Guadalupe", "María", "Guadalupe", "Ana María", "María José", "María Fernanda",
    "Juana", "Rosa María", "Ximena", "Yareli", "Daniela", "Valeria", "Margarita", "Verónica",
    "Leticia", "Patricia", "Luz María", "Ángela", "Camila", "Sofía", "Fernanda", "Andrea",
    "Alejandra", "Gabriela", "Mariana", "Karla", "Diana", "Adriana", "Laura", "Claudia",
    "Elizabeth", "Isabel", "Leslie", "Yesenia", "Jennifer", "Jocelyn", "Kimberly", "Ashley",
    "Stephanie", "Nayeli", "Yaretzi", "Citlali", "Itzel", "Esmeralda", "Rocío", "Araceli",
    "Alma", "Blanca", "Brenda", "Cecilia", "Cristina", "Dulce María", "Elena", "Estefanía",
    "Evelyn", "Fátima", "Gisela", "Griselda", "Irma", "Jazmín", "Josefina", "Julia", "Karen",
    "Ana Karen", "Lucía", "Maricela", "Martha", "Martha Alicia", "Mayra", "Miriam", "Mónica",
    "Natalia", "Norma", "Paola", "Perla", "Regina", "Reyna", "Rosa", "Rosario", "Sandra",
    "Silvia", "Sonia", "Teresa", "Vanessa", "Victoria", "Viridiana", "Wendy", "Yolanda", "Zoe",
    "María del Carmen", "María de Jesús", "María de los Ángeles", "María Elena", "María Isabel",
    "Carmen", "Dolores", "Concepción", "Soledad", "Consuelo", "Socorro", "Mercedes", "Graciela",
    "Angélica", "Beatriz", "Marisol", "Aylin", "Valentina", "Renata", "Romina", "Arely", "Deisy",
    "Yuliana", "Lizbeth", "Nancy", "Jacqueline", "Liliana", "Angelina", "Luisa", "Trinidad",
    "Juana María", "Alondra", "Abril", "Aracely", "Nohemí", "Guillermina", "Antonia",
    "Francisca", "Jesusita",
))

GT_MALE: Final = _unique((
    "Edvin", "Elmer", "Byron", "Wilmer", "Selvin", "Marvin", "Edwin", "Juan", "José", "Pedro",
    "Diego", "Francisco", "Luis", "Kevin", "Brayan", "Dilan", "Juan Carlos", "Jorge", "Mario",
    "Carlos", "Miguel", "Santos", "Domingo", "Mateo", "Tomás", "Baltazar", "Gaspar", "Ángel",
    "Josué", "Cristian", "Yoni", "Anderson", "Henry", "Eswin", "Nery", "Rony",
))

GT_FEMALE: Final = _unique((
    "Heidy", "Yénifer", "Lesly", "Ingrid", "Glendy", "Yoselin", "María", "Juana", "Rosa",
    "Ixchel", "Nohemí", "Brenda", "Marta", "Catarina", "Magdalena", "Petrona", "Candelaria",
    "Ana María", "Dulce María", "Sulmy", "Evelin", "Dayana", "Angélica", "Esther", "Elsa",
    "Floridalma", "Reyna", "Sandra", "Yesenia", "Dora", "Marleny", "Delmy",
))

EN_MALE: Final = _unique((
    "Michael", "James", "John", "Robert", "David", "William", "Joseph", "Christopher", "Daniel",
    "Matthew", "Joshua", "Andrew", "Tyler", "Jacob", "Ethan", "Noah", "Logan", "Mason", "Austin",
    "Cody", "Dustin", "Travis", "Brandon", "Justin", "Kyle", "Anthony", "Ryan", "Jesse", "Bobby",
    "Billy", "Wyatt", "Hunter", "Colton", "Caleb", "Dalton",
))

EN_FEMALE: Final = _unique((
    "Jessica", "Ashley", "Emily", "Sarah", "Hannah", "Elizabeth", "Madison", "Brittany",
    "Amanda", "Samantha", "Taylor", "Megan", "Kayla", "Abigail", "Emma", "Olivia", "Chloe",
    "Savannah", "Haley", "Destiny", "Mary", "Amber", "Crystal", "Heather", "Tiffany", "Kaitlyn",
))

HT_MALE: Final = _unique((
    "Jean", "Pierre", "Jean-Baptiste", "Jean Robert", "Joseph", "Wilner", "Wilson", "Jonas",
    "Kervens", "Woodley", "Peterson", "Stevenson", "Jean Claude", "Frantz", "Ricardo", "Junior",
))

HT_FEMALE: Final = _unique((
    "Marie", "Marie-Claire", "Rose", "Nadège", "Fabienne", "Widline", "Mirlande", "Roseline",
    "Guerline", "Judith", "Esther", "Sherline", "Darline", "Nahomie", "Marie Rose", "Lovely",
))

VN_MALE: Final = _unique((
    "Minh", "Duc", "Tuan", "Khoa", "Bao", "Long", "Huy", "Nam", "Kevin", "Tony", "Peter", "Hung",
))

VN_FEMALE: Final = _unique((
    "Linh", "Anh", "Mai", "Thao", "Ngoc", "Trang", "Vy", "Tiffany", "Vivian", "Lan", "Hoa",
))

# --- Surnames ----------------------------------------------------------------------------------

MX_SURNAMES: Final = _unique((
    "Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Pérez", "Sánchez",
    "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres",
    "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero",
    "Álvarez", "Méndez", "Chávez", "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera", "Medina",
    "Castro", "Vargas", "Guzmán", "Velázquez", "Muñoz", "Rojas", "Contreras", "Salazar",
    "De La Cruz", "Luna", "Ortega", "Guerrero", "Estrada", "Bautista", "Cortés", "Soto",
    "Alvarado", "Espinoza", "Lara", "Ávila", "Ríos", "Cervantes", "Silva", "Delgado", "Vega",
    "Márquez", "Sandoval", "Fernández", "León", "Carrillo", "Mejía", "Solís", "Núñez", "Rosas",
    "Valdez", "Ibarra", "Campos", "Santiago", "Vásquez", "Maldonado", "Rosales", "Acosta", "Peña",
    "Navarro", "Miranda", "Trejo", "Cabrera", "Valencia", "Nava", "Castañeda", "Pacheco",
    "Robles", "Molina", "Fuentes", "Rangel", "Huerta", "Meza", "Aguirre", "Cárdenas", "Orozco",
    "Padilla", "Espinosa", "Ayala", "Salas", "Valenzuela", "Zúñiga", "Ochoa", "Salinas", "Mora",
    "Tapia", "Serrano", "Durán", "Olvera", "Macías", "Zamora", "Calderón", "Arellano", "Suárez",
    "Barrera", "Camacho", "Villegas", "Sierra", "Bravo", "Beltrán", "Galván", "Villa", "Rocha",
    "Montes", "Valdés", "Benítez", "Andrade", "Becerra", "Pineda", "Córdova", "Trujillo",
    "Galindo", "Cisneros", "Villanueva", "Osorio", "Mata", "Zavala", "Velasco", "Ponce",
    "Arroyo", "Gallegos", "Figueroa", "Escobar", "Nieto", "Caballero", "Quintero", "Lozano",
    "Sosa", "Del Río", "De León", "De Los Santos", "Del Ángel", "De Jesús", "Hinojosa", "Garza",
    "Treviño", "Saldaña", "Cantú", "Villarreal", "Montemayor", "Guajardo", "Leal", "Benavides",
    "Cavazos", "Elizondo", "Zapata", "Tovar", "Esquivel", "Ybarra", "Barajas", "Zaragoza",
    "Quiroz", "Magaña", "Ceja", "Ceballos", "Villalobos", "Covarrubias", "Sepúlveda", "Anaya",
    "Bernal", "Cuevas", "Arias", "Escamilla", "Franco", "Gallardo", "Jaramillo", "Lucero",
    "Montoya", "Murillo", "Nájera", "Olivares", "Palacios", "Paredes", "Pizarro", "Prado",
    "Quintana", "Rentería", "Saucedo", "Tamayo", "Tello", "Ulloa", "Urbina", "Valadez",
    "Vallejo", "Velásquez", "Yáñez", "Zepeda", "Reséndiz", "Ledesma", "Ávalos", "Arreola",
    "Barragán", "Bañuelos", "Cuéllar", "Chacón", "Gil", "Gamboa", "Hidalgo", "Lira", "Lugo",
    "Medrano", "Mireles", "Montañez", "Navarrete", "Oropeza", "Pantoja", "Plascencia", "Quezada",
    "Rubio", "Serna", "Tinoco", "Toledo", "Vera", "Villaseñor", "Zamudio", "Santos", "Santana",
    "Aguilera", "Carmona", "Cordero", "Corona", "Correa", "Dávila", "Duarte", "Enríquez",
    "Esparza", "Fajardo", "Gaona", "Gaytán", "Granados", "Hurtado", "Ibáñez", "Jaimes", "Limón",
    "Loera", "Manríquez", "Marín", "Mojica", "Morán", "Muñiz", "Ocampo", "Ornelas", "Pulido",
    "Regalado", "Rincón", "Sáenz", "Segura", "Sotelo",
))

GT_SURNAMES: Final = _unique((
    "López", "Tzoc", "García", "Pérez", "Xol", "Ixcoy", "Hernández", "Caal", "Choc", "Pop",
    "Gómez", "Cac", "Morales", "Ramírez", "Tzul", "Quej", "Coc", "Bol", "Cruz", "Ical", "Tiul",
    "Chub", "Castillo", "Maquin", "Sis", "Méndez", "Xitumul", "Tzunun", "Chiquín", "Ajanel",
    "Batz", "Chen", "Tum", "Cux", "Saquic", "Ixchop", "Velásquez", "Juárez", "Ortiz", "Vásquez",
    "Reyes", "Tax", "Quiej", "Tzic", "Ixtabalán", "Sicajau", "Chivalán", "Yat", "Coy", "Ich",
    "Cuc", "Xoc", "Tiney", "Mateo", "Pascual", "Domingo", "Francisco", "Diego", "Andrés",
))

EN_SURNAMES: Final = _unique((
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Moore",
    "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin", "Thompson", "Young",
    "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
    "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins",
    "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "O'Brien", "O'Neal", "McDonald",
    "Bailey", "Reed", "Cooper", "Howard", "Ward", "Price", "Long", "Foster", "Sanders", "Ross",
    "Jenkins", "Perry", "Powell", "Russell", "Hayes", "Bennett", "Gray", "Watson",
))

HT_SURNAMES: Final = _unique((
    "Pierre", "Jean", "Joseph", "Louis", "Charles", "Jean-Baptiste", "Baptiste", "François",
    "Étienne", "Michel", "Désir", "Dorvil", "Saint-Fleur", "Saint-Louis", "Toussaint",
    "Augustin", "Noël", "Paul", "Alexis", "Célestin", "Fils-Aimé", "Jean-Louis", "Lafleur",
    "Métellus", "Dorcely", "Petit-Frère",
))

VN_SURNAMES: Final = _unique((
    "Nguyen", "Tran", "Le", "Pham", "Huynh", "Hoang", "Phan", "Vu", "Vo", "Dang", "Bui", "Do",
))

# --- Equivalent forms of given names -----------------------------------------------------------

NICKNAMES: Final[dict[str, tuple[str, ...]]] = {
    "Guadalupe": ("Lupe", "Lupita"),
    "Jesús": ("Chuy", "Chucho"),
    "José": ("Pepe", "Chepe"),
    "Francisco": ("Paco", "Pancho", "Kiko"),
    "Guillermo": ("Memo",),
    "Roberto": ("Beto",),
    "Alberto": ("Beto",),
    "Eduardo": ("Lalo",),
    "Antonio": ("Toño",),
    "Ignacio": ("Nacho",),
    "Enrique": ("Kike",),
    "Lorenzo": ("Lencho",),
    "Rosario": ("Chayo",),
    "María": ("Mari",),
    "Alejandro": ("Alex", "Jando"),
    "Alejandra": ("Ale", "Alex"),
    "Fernando": ("Nando", "Fer"),
    "Manuel": ("Manny", "Meño"),
    "Ramón": ("Moncho",),
    "Refugio": ("Cuco",),
    "Concepción": ("Concha", "Conchita"),
    "Dolores": ("Lola", "Lolita"),
    "Mercedes": ("Meche",),
    "Josefina": ("Fina", "Chepina"),
    "Rafael": ("Rafa",),
    "Santiago": ("Chago",),
    "Salvador": ("Chava",),
    "Isabel": ("Chabela",),
    "Graciela": ("Chela",),
    "Soledad": ("Chole",),
    "Consuelo": ("Chelo",),
    "Socorro": ("Coco",),
    "Trinidad": ("Trini",),
    "Rodolfo": ("Fito", "Rudy"),
    "Ernesto": ("Neto",),
    "Octavio": ("Tavo",),
    "Gustavo": ("Tavo",),
    "Daniel": ("Dany",),
    "Gerardo": ("Jerry",),
    "Javier": ("Javi",),
    "Benjamín": ("Benji",),
    "Cristina": ("Cris",),
    "Victoria": ("Vicky",),
    "Margarita": ("Margie",),
    "Rosa": ("Rosy", "Chayito"),
    "Patricia": ("Paty",),
    "Elizabeth": ("Liz", "Eli"),
    "Jorge": ("Coque",),
    "Juan": ("Juanito",),
    "Juana": ("Juanita",),
    "Luis": ("Lucho",),
    "Esmeralda": ("Esme",),
    "Guillermina": ("Mina",),
    "Jennifer": ("Jenny",),
    "Christopher": ("Chris",),
    "Jonathan": ("Jony",),
    "Michael": ("Mike",),
    "William": ("Billy", "Will"),
    "Robert": ("Bobby", "Rob"),
    "James": ("Jim", "Jimmy"),
    "Joseph": ("Joe",),
    "Jean-Baptiste": ("Jean",),
    "Marie-Claire": ("Claire",),
}
"""Given name (one part of a compound) → nicknames in common use."""

ANGLICISED: Final[dict[str, tuple[str, ...]]] = {
    "Guillermo": ("William",),
    "Jesús": ("Jesse",),
    "José": ("Joe", "Joseph"),
    "Juan": ("John",),
    "Miguel": ("Michael", "Mike"),
    "Carlos": ("Charles", "Charlie"),
    "Roberto": ("Robert", "Bobby"),
    "Alberto": ("Albert",),
    "Eduardo": ("Edward", "Eddie"),
    "Antonio": ("Anthony", "Tony"),
    "Enrique": ("Henry",),
    "Francisco": ("Frank",),
    "Pedro": ("Peter",),
    "Ricardo": ("Richard", "Ricky"),
    "Andrés": ("Andrew",),
    "Manuel": ("Manny",),
    "Jorge": ("George",),
    "Javier": ("Xavier",),
    "Daniel": ("Danny",),
    "Esteban": ("Steven",),
    "Tomás": ("Thomas",),
    "Felipe": ("Philip",),
    "Rafael": ("Ralph",),
    "María": ("Mary",),
    "Juana": ("Jane",),
    "Isabel": ("Elizabeth",),
    "Elena": ("Helen",),
    "Teresa": ("Theresa",),
    "Julia": ("Julie",),
    "Cristina": ("Christina",),
    "Josefina": ("Josephine",),
    "Margarita": ("Margaret",),
    "Estefanía": ("Stephanie",),
    "Yénifer": ("Jennifer",),
    "Lucía": ("Lucy",),
    "Catarina": ("Catherine",),
}
"""Spanish given name → English forms a US clerk or the child may use instead."""

ABBREVIATIONS: Final[dict[str, tuple[str, ...]]] = {
    "María": ("Ma.", "Ma", "Ma"),
    "José": ("J.",),
    "Francisco": ("Fco.", "Fco"),
    "Juan": ("J.",),
    "Jesús": ("J.", "Js."),
    "Guadalupe": ("Gpe.", "Gpe"),
    "Luis": ("L.",),
    "Miguel": ("M.",),
}
"""Abbreviations clerks write for one part of a compound given name."""

TWIN_NAME_SETS: Final[tuple[tuple[tuple[str, str], ...], ...]] = (
    (("Juan Carlos", "M"), ("Juan Pablo", "M")),
    (("Ángel", "M"), ("Ángela", "F")),
    (("María José", "F"), ("María Fernanda", "F")),
    (("Jesús", "M"), ("José", "M")),
    (("José Luis", "M"), ("José Ángel", "M")),
    (("Luis", "M"), ("Luisa", "F")),
    (("Daniel", "M"), ("Daniela", "F")),
    (("Adrián", "M"), ("Adriana", "F")),
    (("Alejandro", "M"), ("Alejandra", "F")),
    (("Fernando", "M"), ("Fernanda", "F")),
    (("Juan", "M"), ("Juana", "F")),
    (("Valeria", "F"), ("Valentina", "F")),
    (("Jesús Alberto", "M"), ("Jesús Manuel", "M")),
    (("Ana María", "F"), ("Ana Karen", "F")),
    (("Brayan", "M"), ("Kevin", "M")),
    (("Juan Carlos", "M"), ("Juan Pablo", "M"), ("Juan José", "M")),
    (("María José", "F"), ("María Fernanda", "F"), ("María Guadalupe", "F")),
    (("Jesús", "M"), ("José", "M"), ("Josué", "M")),
    (("Ángel", "M"), ("Ángela", "F"), ("Angélica", "F")),
)
"""Confusable name sets parents give twins and triplets (name, sex)."""

SOUND_RULES: Final[tuple[tuple[str, str], ...]] = (
    (r"v", "b"),
    (r"b", "v"),
    (r"z", "s"),
    (r"s", "z"),
    (r"c(?=[eií])", "s"),
    (r"s(?=[eié])", "c"),
    (r"^y", "ll"),
    (r"ll", "y"),
    (r"^h", ""),
    (r"(?<=[aeiou])h", ""),
    (r"g(?=[eií])", "j"),
    (r"j(?=[ií])", "g"),
    (r"^x", "j"),
    (r"rr", "r"),
    (r"i$", "y"),
    (r"y$", "i"),
    (r"ñ", "ni"),
    (r"qu(?=[ei])", "k"),
    (r"th", "t"),
    (r"ph", "f"),
)
"""Spanish-sound confusions (case-insensitive regex → replacement), each applied once."""

# --- Places ------------------------------------------------------------------------------------

MX_PLACES: Final[dict[str, tuple[str, ...]]] = {
    "Michoacán": ("Zamora", "Uruapan", "Morelia", "Apatzingán", "Sahuayo", "Jacona"),
    "Guanajuato": ("León", "Celaya", "Irapuato", "Salamanca", "Dolores Hidalgo", "Pénjamo"),
    "Jalisco": ("Guadalajara", "Tepatitlán", "Ciudad Guzmán", "Autlán", "Zapopan"),
    "Oaxaca": ("Oaxaca de Juárez", "Juxtlahuaca", "Tlaxiaco", "Huajuapan de León", "Putla"),
    "Guerrero": ("Tlapa de Comonfort", "Chilpancingo", "Iguala", "Acapulco"),
    "Tamaulipas": ("Matamoros", "Reynosa", "Nuevo Laredo", "Río Bravo"),
    "Veracruz": ("Xalapa", "Papantla", "Poza Rica", "Córdoba"),
    "Chihuahua": ("Ciudad Juárez", "Chihuahua", "Delicias", "Cuauhtémoc"),
    "Nuevo León": ("Monterrey", "Montemorelos", "Linares"),
    "Coahuila": ("Piedras Negras", "Saltillo", "Torreón"),
    "San Luis Potosí": ("San Luis Potosí", "Ciudad Valles", "Matehuala"),
    "Zacatecas": ("Fresnillo", "Jerez", "Zacatecas"),
    "Puebla": ("Puebla", "Tehuacán", "Atlixco"),
    "Durango": ("Durango", "Gómez Palacio"),
    "Hidalgo": ("Pachuca", "Ixmiquilpan"),
    "Sinaloa": ("Culiacán", "Los Mochis", "Mazatlán"),
    "Sonora": ("Hermosillo", "San Luis Río Colorado", "Nogales"),
    "Baja California": ("Mexicali", "Tijuana", "San Quintín"),
}

GT_PLACES: Final[dict[str, tuple[str, ...]]] = {
    "Huehuetenango": ("Huehuetenango", "San Pedro Soloma", "Santa Eulalia", "Barillas"),
    "Quiché": ("Santa Cruz del Quiché", "Chichicastenango", "Nebaj", "Joyabaj"),
    "San Marcos": ("San Marcos", "Tejutla", "Malacatán"),
    "Alta Verapaz": ("Cobán", "San Pedro Carchá", "Chisec"),
    "Totonicapán": ("Totonicapán", "Momostenango"),
}

HT_PLACES: Final[dict[str, tuple[str, ...]]] = {
    "Ouest": ("Port-au-Prince", "Léogâne", "Croix-des-Bouquets"),
    "Sud": ("Les Cayes", "Aquin"),
    "Nord": ("Cap-Haïtien", "Limbé"),
    "Sud-Est": ("Jacmel",),
}

US_CITIES: Final[dict[str, tuple[str, ...]]] = {
    "TX": ("McAllen", "Weslaco", "Pharr", "Edinburg", "Mission", "Donna", "Brownsville",
           "Harlingen", "Eagle Pass", "Laredo", "Del Rio", "San Antonio", "Crystal City",
           "Hereford", "El Paso"),
    "CA": ("Salinas", "Oxnard", "Fresno", "Delano", "Bakersfield", "Watsonville", "Santa Maria",
           "Madera", "Stockton", "Indio", "El Centro", "Calexico"),
    "FL": ("Immokalee", "Homestead", "Plant City", "Belle Glade", "Apopka", "Wimauma",
           "Fort Pierce", "Dover"),
    "AZ": ("Yuma", "San Luis", "Somerton", "Phoenix", "Tucson", "Douglas"),
}

STATE_NAMES: Final[dict[str, str]] = {"TX": "Texas", "CA": "California", "FL": "Florida",
                                      "AZ": "Arizona"}

MX_STATE_ABBREVIATIONS: Final[dict[str, tuple[str, ...]]] = {
    "Michoacán": ("MICH", "Mich."), "Guanajuato": ("GTO", "Gto."), "Jalisco": ("JAL", "Jal."),
    "Oaxaca": ("OAX", "Oax."), "Guerrero": ("GRO", "Gro."), "Tamaulipas": ("TAMPS", "Tamps."),
    "Veracruz": ("VER", "Ver."), "Chihuahua": ("CHIH", "Chih."), "Nuevo León": ("NL", "N.L."),
    "Coahuila": ("COAH", "Coah."), "San Luis Potosí": ("SLP", "S.L.P."),
    "Zacatecas": ("ZAC", "Zac."), "Puebla": ("PUE", "Pue."), "Durango": ("DGO", "Dgo."),
    "Hidalgo": ("HGO", "Hgo."), "Sinaloa": ("SIN", "Sin."), "Sonora": ("SON", "Son."),
    "Baja California": ("BC", "B.C."),
}

COUNTRY_SPELLINGS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "MX": (("Mexico", 0.40), ("México", 0.22), ("MX", 0.18), ("MEX", 0.10), ("Méx", 0.05),
           ("Méx.", 0.05)),
    "US": (("US", 0.35), ("USA", 0.30), ("United States", 0.25), ("U.S.A.", 0.05),
           ("Estados Unidos", 0.05)),
    "GT": (("Guatemala", 0.65), ("GT", 0.15), ("GTM", 0.10), ("Guate", 0.05),
           ("Guatemala C.A.", 0.05)),
    "HT": (("Haiti", 0.60), ("HT", 0.20), ("Haïti", 0.10), ("HTI", 0.10)),
}
"""Country code → the spellings clerks write, with their shares."""

VN_MIDDLE_MALE: Final = ("Van", "Minh", "Duc", "Quoc")
VN_MIDDLE_FEMALE: Final = ("Thi", "Ngoc", "Thanh")
EN_MIDDLE_MALE: Final = ("Lee", "Ray", "James", "Michael", "Allen", "Wayne", "Dale", "Alan",
                         "Joseph", "Dean")
EN_MIDDLE_FEMALE: Final = ("Marie", "Ann", "Nicole", "Renee", "Lynn", "Jo", "Mae", "Grace",
                           "Rose", "Elizabeth")

MODERN_GIVEN_NAMES: Final = frozenset({
    "Brayan", "Kevin", "Jonathan", "Christopher", "Brandon", "Dylan", "Johan", "Jared", "Gael",
    "Iker", "Derek", "Anthony", "Axel", "Yahir", "Jair", "Emiliano", "Santiago", "Mateo",
    "Sebastián", "Maximiliano", "Ángel Gabriel", "Uriel", "Erick", "Alan", "Dilan", "Anderson",
    "Ximena", "Yareli", "Camila", "Sofía", "Valeria", "Jennifer", "Jocelyn", "Kimberly",
    "Ashley", "Stephanie", "Nayeli", "Yaretzi", "Aylin", "Valentina", "Renata", "Romina",
    "Leslie", "Evelyn", "Zoe", "Abril", "Alondra", "Arely", "Deisy", "Yuliana", "Lizbeth",
    "Citlali", "Itzel", "Fátima", "Dayana", "Heidy", "Yoselin", "Lesly", "Evelin", "Glendy",
    "Wyatt", "Hunter", "Colton", "Caleb", "Dalton", "Madison", "Savannah", "Destiny", "Kayla",
    "Chloe", "Olivia", "Emma", "Abigail", "Kaitlyn", "Taylor", "Logan", "Mason", "Noah", "Ethan",
    "Kervens", "Woodley", "Nahomie", "Lovely", "Vy", "Vivian",
})
"""Given names that children carry but their parents' generation rarely does."""
