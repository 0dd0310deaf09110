"""Word lists for synthetic demo households (households/demo.py); invented people, no real records.

Indonesians usually have no family name: a person has one name (Sukardi, Enah) or two given names
(Asep Saepudin, Siti Nurhasanah). The lists mix Sundanese, Javanese, Bantenese and Arabic-derived
names, as heard across Banten; younger people more often carry modern names.
"""

MALE = (
    "Ahmad", "Muhammad", "Abdul", "Asep", "Ujang", "Dadang", "Jajang", "Cecep", "Encep", "Dede",
    "Entis", "Nana", "Odang", "Ucup", "Usep", "Wawan", "Yayat", "Ade", "Agus", "Aceng",
    "Endang", "Rohmat", "Sarmadi", "Sahroni", "Jaenudin", "Saepudin", "Sukardi", "Suherman",
    "Sulaeman", "Hasanudin", "Syarifudin", "Rahmat", "Hidayat", "Nurdin", "Supriadi", "Sutisna",
    "Komarudin", "Mulyadi", "Oman", "Karta", "Surya", "Budi", "Joko", "Slamet", "Sugeng",
    "Bambang", "Suryadi", "Darsono", "Wahyudi", "Hendra", "Iwan", "Yusuf", "Ismail", "Ibrahim",
    "Zaenal", "Mahmud", "Marwan", "Romli", "Sanusi", "Jumadi", "Kurnia", "Aang", "Engkos",
    "Maman", "Dudung", "Jaja", "Apip", "Ridwan", "Taufik", "Arif", "Haris", "Lukman", "Mamat",
    "Nandang", "Oding", "Rudi", "Sopian", "Tatang", "Udin", "Warsa", "Yana", "Jamhari",
    "Tubagus", "Matsani", "Aspani",
)  # fmt: skip

FEMALE = (
    "Siti", "Nur", "Euis", "Iis", "Neneng", "Nining", "Imas", "Enok", "Eti", "Yati", "Cucu",
    "Enah", "Enung", "Ika", "Lilis", "Titin", "Tuti", "Ela", "Nia", "Rina", "Sri", "Dewi",
    "Wati", "Ani", "Atikah", "Aisyah", "Fatimah", "Khodijah", "Maryam", "Rohmah", "Rukmini",
    "Sumiati", "Suryani", "Mulyani", "Nurhasanah", "Nurlela", "Kokom", "Entin", "Oom", "Popon",
    "Yuyun", "Mimin", "Eneng", "Dedeh", "Tati", "Ucu", "Uun", "Wiwin", "Yanti", "Ratna",
    "Suminah", "Sarinah", "Juariah", "Masitoh", "Halimah", "Rohayati", "Sartini", "Sukaesih",
    "Kartini", "Endah", "Lina", "Rini", "Jubaedah", "Komariah", "Marliah", "Nani", "Ocoh",
    "Pipih", "Ropiah", "Saadah", "Tarsih", "Hindun", "Mursinah", "Asiah", "Jamilah", "Saripah",
    "Rosidah", "Umayah", "Ratu", "Juju",
)  # fmt: skip

# Given names more common among people born since about 2000.
MALE_MODERN = (
    "Rizki", "Dimas", "Bayu", "Fajar", "Andi", "Irfan", "Ilham", "Fikri", "Reza", "Aldi",
    "Rafi", "Farhan", "Naufal", "Alif", "Akbar", "Daffa", "Rehan", "Galih", "Raka", "Zidan",
)  # fmt: skip

FEMALE_MODERN = (
    "Ayu", "Putri", "Intan", "Nadia", "Salsabila", "Nabila", "Zahra", "Aulia", "Anisa", "Fitri",
    "Indah", "Dinda", "Tiara", "Keisya", "Alya", "Syifa", "Nayla", "Citra", "Amelia", "Safitri",
)  # fmt: skip

# Second given names (many people have only the first).
MALE_SECOND = (
    "Sulaeman", "Hidayat", "Saputra", "Permana", "Kurniawan", "Setiawan", "Gunawan", "Hermawan",
    "Firmansyah", "Ramdani", "Suherman", "Sopandi", "Mulyana", "Sutisna", "Wijaya", "Nugraha",
    "Pratama", "Maulana", "Ridwan", "Rahman", "Hakim", "Hasan", "Fauzi", "Saepudin", "Supriatna",
    "Jaelani", "Munandar", "Hidayatullah", "Syahputra", "Ramadhan",
)  # fmt: skip

FEMALE_SECOND = (
    "Nurhayati", "Rahmawati", "Suryani", "Handayani", "Lestari", "Wulandari", "Maryani",
    "Kurniasih", "Sumarni", "Fitriani", "Puspita", "Rahayu", "Anggraeni", "Hasanah", "Aminah",
    "Rohmawati", "Nuraeni", "Komalasari", "Sulastri", "Ramadhani", "Safitri", "Permatasari",
    "Khoerunnisa", "Maesaroh", "Juhaeriyah", "Badriah", "Zakiah", "Solihah", "Hayati", "Mardiah",
)  # fmt: skip

# Kampung names (Sundanese place words) for addresses, "Kp. <name> RT 003/RW 001".
KAMPUNG = (
    "Cibadak", "Cikupa", "Sukamaju", "Sukajaya", "Babakan", "Pasir Eurih", "Cimanggu",
    "Ciherang", "Cisalak", "Karang Tengah", "Pasir Kadu", "Sindang Sari", "Kadu Hejo", "Cipanas",
    "Bojong", "Tegal Sari", "Gunung Sari", "Sawah Luhur", "Pabuaran", "Cigadung", "Cikareo",
    "Kebon Kelapa", "Leuwi Gede", "Muara", "Pasir Gintung", "Cileungsir", "Kadu Gede",
    "Sukamanah", "Sukasari", "Cijeruk", "Ranca Sumur", "Pamatang", "Cilaban", "Parung Sentul",
    "Bantar Jaya", "Sirna Galih", "Cikoneng", "Kadu Ronyok", "Lebak Sari", "Pasir Angin",
)  # fmt: skip

# Birthplaces outside Banten for people who moved in.
BIRTHPLACES_ELSEWHERE = (
    "Jakarta", "Bogor", "Sukabumi", "Cianjur", "Bandung", "Brebes", "Tegal", "Cirebon",
    "Indramayu", "Lampung Selatan", "Garut", "Kuningan",
)  # fmt: skip
